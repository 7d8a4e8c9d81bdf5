/**
 * The audit on degenerate but legal feedback: one rater, one comparison, raters with one judgment
 * each, every judgment a tie or the same side, two raters who always disagree, gold against
 * every rater, identical or empty texts, one cohort for everyone. Each must give finite numbers,
 * a KeelError or a documented answer, and no rater may be excluded on evidence it does not have.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { type AuditResult, audit, POLICIES, type Policy } from "../../src/defend/index.js";

let clock = 0;
function judgment(
  c: string,
  rater: string,
  choice: Choice,
  extra: Partial<Judgment> = {},
): Judgment {
  clock++;
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString(),
    latency_ms: 4000,
    ...extra,
  };
}

/** Every number of the audit JSON side (not the config), with its path, that is not finite. */
function nonFinite(value: unknown, path = ""): string[] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${path}=${value}`];
  if (value instanceof Float64Array)
    return Array.from(value).flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (Array.isArray(value)) return value.flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}.${k}`));
  return [];
}

function auditAll(judgments: Judgment[]): [Policy, AuditResult][] {
  return POLICIES.map((policy) => {
    const r = audit({ judgments }, { policy });
    expect(nonFinite({ ...r, config: undefined }), policy).toEqual([]);
    return [policy, r];
  });
}

const side = (c: string) => (Number(c.slice(1)) % 3 === 0 ? "b" : "a");

describe("audit() on raters with one judgment each", () => {
  // Most comparisons go to "a", so the class prior favours a; c0, c3, c6, … go to "b".
  const lone = Array.from({ length: 30 }, (_, i) => judgment(`c${i}`, `r${i}`, side(`c${i}`)));
  const shared = Array.from({ length: 40 }, (_, i) =>
    judgment(`c${i % 10}`, `r${i}`, side(`c${i % 10}`)),
  );

  it("follows a comparison's only judgment, not the class prior", () => {
    // The maximum-likelihood Dawid–Skene made every lone label uninformative: each comparison got
    // p_a = the share of "a" (0.70), against the only rater's "b", with weight 1.
    for (const [policy, r] of auditAll(lone))
      for (const c of r.comparisons)
        expect(c.p_a > 0.5, `${policy} ${c.comparison_id}`).toBe(side(c.comparison_id) === "a");
  });

  it("follows unanimous raters of a comparison, each with one judgment", () => {
    // (0.61 for every comparison before, whichever side its four raters took.)
    for (const [policy, r] of auditAll(shared))
      for (const c of r.comparisons) {
        const want = side(c.comparison_id) === "a" ? 1 : 0;
        expect(Math.abs(c.p_a - want), `${policy} ${c.comparison_id}`).toBeLessThan(0.05);
        expect(c.weight).toBe(1);
      }
  });

  it("excludes none of them, under any policy, and trusts them under balanced", () => {
    for (const [policy, r] of auditAll([
      ...lone,
      ...shared.map((j) => ({ ...j, rater_id: `s${j.rater_id}` })),
    ])) {
      expect(r.summary.excluded, policy).toBe(0);
      if (policy !== "strict") expect(r.summary.trusted, policy).toBe(r.raters.length);
    }
  });

  it("one comparison judged by 1,000 raters: the majority side, nobody excluded", () => {
    const js = Array.from({ length: 1000 }, (_, i) => judgment("c", `r${i}`, i % 3 ? "a" : "b"));
    for (const [policy, r] of auditAll(js)) {
      expect(r.comparisons[0]!.p_a, policy).toBeGreaterThan(0.5);
      expect(r.summary.excluded, policy).toBe(0);
      // Documented: under strict a lone dissent makes a rater suspect, barely down-weighted.
      const suspects = r.raters.filter((x) => x.verdict === "suspect");
      expect(suspects.length, policy).toBe(policy === "strict" ? 334 : 0);
      for (const x of suspects) expect(x.weight).toBeGreaterThan(0.9);
    }
  });

  it("a rater with thousands of judgments among raters with one each: nobody excluded", () => {
    const js = [
      ...Array.from({ length: 2000 }, (_, i) =>
        judgment(`c${i % 200}`, "big", side(`c${i % 200}`)),
      ),
      ...Array.from({ length: 30 }, (_, i) => judgment(`c${i}`, `s${i}`, side(`c${i}`))),
    ];
    for (const [policy, r] of auditAll(js)) expect(r.summary.excluded, policy).toBe(0);
  });

  it("gold against a rater's only judgment is not evidence enough to exclude them", () => {
    const js = lone.map((j) => ({ ...j, gold: (j.choice === "a" ? "b" : "a") as Choice }));
    for (const [policy, r] of auditAll(js)) {
      expect(r.summary.excluded, policy).toBe(0);
      // The gold answer is the comparison's label whatever the rater said.
      for (const c of r.comparisons)
        expect(c.p_a > 0.5, c.comparison_id).toBe(side(c.comparison_id) === "b");
    }
  });
});

describe("audit() on other boundary panels", () => {
  it("one judgment, one rater, one comparison: the judgment, trusted", () => {
    for (const [, r] of auditAll([judgment("c", "r", "b")])) {
      expect(r.raters[0]!.verdict).toBe("trusted");
      expect(r.comparisons[0]!.p_a).toBeLessThan(0.5);
    }
  });

  it("every judgment a tie: p_a ½, p_tie 1, full weight, nobody suspected", () => {
    const js = Array.from({ length: 30 }, (_, i) => judgment(`c${i % 10}`, `r${i % 3}`, "tie"));
    for (const [policy, r] of auditAll(js)) {
      expect(r.summary.trusted, policy).toBe(3);
      for (const c of r.comparisons) {
        expect(c.p_a).toBeCloseTo(0.5, 9);
        expect(c.p_tie).toBeCloseTo(1, 6);
        expect(c.weight).toBe(1);
      }
    }
  });

  it("every rater agreeing perfectly, always on the same side: all trusted, p_a 1", () => {
    const js = Array.from({ length: 30 }, (_, i) => judgment(`c${i % 10}`, `r${i % 3}`, "a"));
    for (const [policy, r] of auditAll(js)) {
      expect(r.summary.trusted, policy).toBe(3);
      for (const c of r.comparisons) expect(c.p_a).toBeGreaterThan(0.99);
    }
  });

  it("gold answers on every comparison that agree with every rater: all trusted", () => {
    const js = Array.from({ length: 30 }, (_, i) => {
      const c = `c${i % 10}`;
      return judgment(c, `r${i % 3}`, side(c), { gold: side(c) });
    });
    for (const [policy, r] of auditAll(js)) expect(r.summary.trusted, policy).toBe(3);
  });

  it("identical duplicate judgments count once (repeats) and exclude nobody", () => {
    const js = Array.from({ length: 30 }, (_, i) => judgment(`c${i % 3}`, `r${i % 3}`, "a"));
    for (const [policy, r] of auditAll(js)) {
      expect(r.filters.repeat_judgments, policy).toBe(27);
      expect(r.summary.excluded, policy).toBe(0);
    }
  });

  it("identical or empty responses: comparisons excluded as malformed, no rater blamed", () => {
    const same = Array.from({ length: 30 }, (_, i) =>
      judgment(`c${i % 10}`, `r${i % 3}`, i % 2 ? "a" : "b", {
        response_b: `first answer to c${i % 10}`,
      }),
    );
    const empty = Array.from({ length: 30 }, (_, i) =>
      judgment(`c${i % 10}`, `r${i % 3}`, i % 2 ? "a" : "b", { response_a: "", response_b: "" }),
    );
    for (const js of [same, empty])
      for (const [policy, r] of auditAll(js)) {
        expect(r.filters.malformed_comparisons, policy).toBe(10);
        expect(r.comparisons.every((c) => c.excluded && c.p_a === 0.5)).toBe(true);
        expect(r.summary.excluded, policy).toBe(0);
      }
  });

  it("one cohort for every rater: no cohort finding", () => {
    const js = Array.from({ length: 60 }, (_, i) =>
      judgment(`c${i % 20}`, `r${i % 3}`, side(`c${i % 20}`)),
    );
    const raters = ["r0", "r1", "r2"].map((rater_id) => ({
      rater_id,
      attributes: { locale: "en" },
    }));
    expect(audit({ judgments: js, raters }).findings).toEqual([]);
  });
});

describe("the audit's policy", () => {
  it("an unknown policy is KEEL_E_CONFIG naming it, not a TypeError", () => {
    const js = [judgment("c", "r", "a")];
    for (const call of [
      () => audit({ judgments: js }, { policy: "lenient" as Policy }),
      () => resolveAuditConfig({}, "lenient" as Policy),
    ]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_CONFIG");
      expect((err as KeelError).message).toMatch(/"lenient"/);
    }
  });
});
