/**
 * What the audit could check (src/defend/coverage.ts): per rater the detectors that had
 * evidence on it (`checked_by`), the summary's unchecked raters and the shares resting on them
 * alone, and the warnings — for a lone rater, a sybil team beside singletons (its own baseline),
 * a normal overlapping panel, and through the audit JSON. None of it moves a score or a weight.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { audit, auditToJson, parseAuditJson, resolveAuditConfig } from "../../src/defend/index.js";
import { runCli } from "../helpers/cli.js";

function judgment(c: string, rater: string, choice: Choice, extra: Partial<Judgment> = {}) {
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
    ...extra,
  } satisfies Judgment;
}

/** test/defend/groups-nonfinite.test.ts's panel: singletons, honest overlap, a team of five. */
function panel(o: { singletons: boolean; overlap: boolean; team: boolean }): Judgment[] {
  const rng = new Rng(3);
  const js: Judgment[] = [];
  if (o.singletons)
    for (let k = 0; k < 300; k++)
      js.push(judgment(`u${k}`, `user${k}`, rng.bernoulli(0.5) ? "a" : "b"));
  if (o.overlap)
    for (let k = 0; k < 300; k++)
      for (const w of rng.sampleIndices(12, 3)) {
        const right: Choice = k % 2 ? "a" : "b";
        js.push(judgment(`o${k}`, `h${w}`, rng.bernoulli(0.8) ? right : right === "a" ? "b" : "a"));
      }
  if (o.team)
    for (let k = 0; k < 40; k++)
      for (let s = 0; s < 5; s++) js.push(judgment(`t${k}`, `sybil${s}`, "a"));
  return js;
}

const rater = (r: ReturnType<typeof audit>, id: string) => r.raters.find((x) => x.rater_id === id)!;

describe("a lone rater", () => {
  const js = Array.from({ length: 5 }, (_, k) => judgment(`c${k}`, "lone", k % 2 ? "a" : "b"));

  it("is trusted at weight 1 as before, and reported as checked by nothing", () => {
    const r = audit({ judgments: js });
    const lone = rater(r, "lone");
    expect([lone.verdict, lone.weight, lone.suspicion]).toEqual(["trusted", 1, 0]);
    expect(lone.checked_by).toEqual([]);
    expect(r.summary).toMatchObject({
      unchecked_raters: 1,
      unchecked_judgment_share: 1,
      unchecked_weight_share: 1,
    });
    expect(r.coverage.warnings).toHaveLength(1);
    expect(r.coverage.warnings[0]).toMatch(/^1 of 1 raters, with 100% of the judgments and 100%/);
    expect(r.coverage.warnings[0]).toContain('"trusted" means not checked, not cleared');
  });

  it("is checked by gold once it answered gold comparisons", () => {
    const gold = js.map((j) => ({ comparison_id: j.comparison_id, gold: j.choice }));
    const r = audit({ judgments: js, gold });
    expect(rater(r, "lone").checked_by).toEqual(["gold"]);
    expect(r.coverage.detectors.gold).toBe(1);
    expect(r.summary.unchecked_raters).toBe(0);
    expect(r.coverage.warnings).toEqual([]);
  });
});

describe("a team that is the only set of co-raters, beside 300 singletons", () => {
  const r = audit({ judgments: panel({ singletons: true, overlap: false, team: true }) });

  it("says the singletons were checked by nothing and the team not for collusion", () => {
    // The documented verdicts and weights are kept: this is reporting only.
    expect(r.groups).toEqual([]);
    const t0 = r.comparisons.find((c) => c.comparison_id === "t0")!;
    expect([t0.p_a, t0.weight]).toEqual([1, 1]);
    expect(rater(r, "sybil0").verdict).toBe("trusted");
    expect(rater(r, "user0").checked_by).toEqual([]);
    // Checked against each other only: the collusion detector could flag no pair of them.
    expect(rater(r, "sybil0").checked_by).toEqual(["reliability", "agreement", "entropy"]);
    expect(r.summary.unchecked_raters).toBe(300);
    expect(r.summary.unchecked_judgment_share).toBe(300 / 500);
    expect(r.summary.unchecked_weight_share).toBeCloseTo(300 / 340, 12);
    expect(r.coverage).toMatchObject({ group_pairs: 10, group_testable_pairs: 0 });
    expect(r.coverage.group_baseline).toBe(false);
    expect(r.coverage.detectors.group).toBe(0);
  });

  it("warns of both: the unchecked share and the collusion detector without a baseline", () => {
    expect(r.coverage.warnings).toHaveLength(2);
    expect(r.coverage.warnings[0]).toMatch(
      /^300 of 305 raters, with 60% of the judgments and 88% of the kept comparisons' weight, were checked by no detector/,
    );
    expect(r.coverage.warnings[1]).toMatch(/^the collusion detector had no baseline: 10 pairs/);
    expect(r.coverage.warnings[1]).toContain("those 5 raters (40% of the judgments)");
  });

  it("warns of the unchecked share from coverage.warn_share up, not below it", () => {
    const js = panel({ singletons: true, overlap: false, team: true });
    const at = (warn_share: number) =>
      audit({ judgments: js }, { config: { coverage: { warn_share } } }).coverage.warnings.filter(
        (w) => w.includes("checked by no detector"),
      ).length;
    expect(at(0.89)).toBe(0); // the larger share is 300/340 ≈ 0.882
    expect(at(0.88)).toBe(1);
    expect(at(0)).toBe(1);
  });

  it("has the team checked for collusion once honest raters share comparisons beside it", () => {
    const both = audit({ judgments: panel({ singletons: true, overlap: true, team: true }) });
    expect(rater(both, "sybil0").verdict).toBe("excluded");
    expect(rater(both, "sybil0").checked_by).toContain("group");
    expect(both.coverage.group_baseline).toBe(true);
    // The singletons are still unchecked, though Dawid–Skene reports a figure for them: a
    // model's estimate for a rater with no co-raters is no test of it.
    expect(rater(both, "user0").evidence.reliability).toMatchObject({ score: 0 });
    expect(rater(both, "user0").checked_by).toEqual([]);
    // The warning about them stays, the other goes.
    expect(both.coverage.warnings).toHaveLength(1);
    expect(both.coverage.warnings[0]).toMatch(/^300 of 317 raters/);
  });
});

describe("a normal panel, every comparison judged by three of twelve raters", () => {
  const r = audit({ judgments: panel({ singletons: false, overlap: true, team: false }) });

  it("has every rater checked, nothing unchecked and no warning", () => {
    expect(r.raters).toHaveLength(12);
    for (const x of r.raters) expect(x.checked_by, x.rater_id).toContain("agreement");
    expect(r.summary).toMatchObject({
      unchecked_raters: 0,
      unchecked_judgment_share: 0,
      unchecked_weight_share: 0,
    });
    expect(r.coverage.group_baseline).toBe(true);
    expect(r.coverage.detectors.agreement).toBe(12);
    expect(r.coverage.warnings).toEqual([]);
  });

  it("an empty audit is well formed: nothing unchecked, no warning", () => {
    const e = audit({ judgments: [] });
    expect(e.summary).toMatchObject({
      unchecked_raters: 0,
      unchecked_judgment_share: 0,
      unchecked_weight_share: 0,
    });
    expect(e.coverage.warnings).toEqual([]);
  });
});

describe("the audit JSON", () => {
  it("carries checked_by, the summary's figures and coverage through parseAuditJson", () => {
    const r = audit({ judgments: panel({ singletons: true, overlap: false, team: true }) });
    const json = auditToJson(r);
    const back = parseAuditJson(JSON.parse(JSON.stringify(json)), "audit.json") as Record<
      string,
      unknown
    > & { raters: { rater_id: string; checked_by?: unknown }[] };
    expect(back.raters.map((x) => [x.rater_id, x.checked_by])).toEqual(
      r.raters.map((x) => [x.rater_id, x.checked_by]),
    );
    expect(back.summary).toEqual(r.summary);
    expect(back.coverage).toEqual(r.coverage);
    expect((back.summary as Record<string, number>).unchecked_raters).toBe(300);
    // The config an audit JSON carries still resolves (its new `coverage` block included).
    expect(resolveAuditConfig(back.config).coverage).toEqual({ warn_share: 0.05 });
  });

  it("reads coverage.warn_share from a config, and refuses an unknown setting or a share outside 0..1", () => {
    expect(resolveAuditConfig({ coverage: { warn_share: 0.2 } }).coverage.warn_share).toBe(0.2);
    expect(resolveAuditConfig({}, "strict").coverage.warn_share).toBe(0.01);
    expect(() => resolveAuditConfig({ coverage: { warn_shares: 0.1 } })).toThrow(/coverage/);
    expect(() => resolveAuditConfig({ coverage: { warn_share: 1.5 } })).toThrow(
      /coverage\.warn_share/,
    );
  });
});

describe("keel audit tells the user", () => {
  it("prints the unchecked share and the warnings (on standard error, also with -q)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-coverage-cli-"));
    try {
      const file = join(dir, "j.jsonl");
      const js = panel({ singletons: true, overlap: false, team: true });
      writeFileSync(file, `${js.map((j) => JSON.stringify(j)).join("\n")}\n`);
      const r = await runCli(["audit", "--in", file, "--out", join(dir, "a.json")]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /unchecked: 300 raters no detector had evidence on \(60\.0% of judgments/,
      );
      expect(r.stderr).toContain("keel: warning: 300 of 305 raters");
      expect(r.stderr).toContain("keel: warning: the collusion detector had no baseline");
      const q = await runCli(["audit", "--in", file, "--out", join(dir, "a.json"), "-q"]);
      expect(q.stdout).toBe("");
      expect(q.stderr).toContain("warning: the collusion detector had no baseline");
      const j = await runCli(["audit", "--in", file, "--out", join(dir, "a.json"), "--json"]);
      const said = JSON.parse(j.stdout) as { warnings: string[]; summary: object };
      expect(said.warnings).toHaveLength(2);
      expect(said.summary).toMatchObject({ unchecked_raters: 300 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
