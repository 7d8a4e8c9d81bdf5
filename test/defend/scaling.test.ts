/**
 * The audit's steps whose cost grew faster than their input (cohort findings, the trigger scan's
 * redundancy test, the promotion scan's one-sided names) against the straightforward versions
 * they replaced, kept here as references, on seeded random inputs; and an operation count for
 * each, which the quadratic versions exceed many times over (timings: bench/scaling.ts).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Rater } from "../../src/core/types.js";
import { type CohortFinding, cohortFindings } from "../../src/defend/cohorts.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { type Consensus, leaveOneOut } from "../../src/defend/consensus.js";
import {
  type AuditData,
  type AuditJudgment,
  LABEL_A,
  LABEL_TIE,
  prepareAuditData,
} from "../../src/defend/data.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import { containsWord, oneSidedWords, WordIndex } from "../../src/defend/promotion-words.js";
import { containsOtherPattern } from "../../src/defend/triggers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A panel with attributes: teams of 2–6 raters, a locale, raters without attributes. */
function panel(seed: number, raters: number, comparisons: number) {
  const rng = new Rng(seed);
  const judgments: AuditJudgment[] = [];
  const longerTeam = rng.int(5);
  const team = (w: number) => `t${w % 7}`;
  for (let c = 0; c < comparisons; c++) {
    const la = 1 + rng.int(6);
    const lb = 1 + rng.int(6);
    const k = 2 + rng.int(4);
    for (const w of rng.sampleIndices(raters, k)) {
      const r = rng.float();
      // One team leans to the longer response; everyone else is a coin with a slight taste for a.
      const choice =
        team(w) === `t${longerTeam}` && r < 0.6
          ? la >= lb
            ? "a"
            : "b"
          : r < 0.1
            ? "tie"
            : r < 0.6
              ? "a"
              : "b";
      judgments.push({
        comparison_id: `c${c}`,
        prompt: `p${c}`,
        response_a: "x ".repeat(la),
        response_b: "y ".repeat(lb),
        rater_id: `r${w}`,
        choice,
        ...(rng.bernoulli(0.5) ? { shown_order: "ba" as const } : {}),
      });
    }
  }
  const attrs: Rater[] = [];
  for (let w = 0; w < raters; w++) {
    if (w % 11 === 10) continue;
    attrs.push({
      rater_id: `r${w}`,
      attributes: { team: team(w), ...(w % 3 === 0 ? {} : { locale: w % 2 ? "de" : "en" }) },
    });
  }
  return prepareAuditData(
    { judgments, raters: attrs },
    { safety: ruleClassifier(), useGold: true },
  );
}

class Moments {
  n = 0;
  s = 0;
  ss = 0;
  add(x: number): void {
    this.n++;
    this.s += x;
    this.ss += x * x;
  }
  get mean(): number {
    return this.n > 0 ? this.s / this.n : 0;
  }
  get variance(): number {
    return this.n > 1 ? Math.max(0, (this.ss - this.n * this.mean ** 2) / (this.n - 1)) : 0;
  }
}

const METRICS = ["excess_agreement", "longer_share", "first_share"] as const;

/** cohortFindings as it was: a pass over every judgment for each attribute value. */
function referenceCohorts(
  data: AuditData,
  loo: Consensus,
  cfg: { min_raters: number; min_judgments: number; min_z: number },
) {
  const keys = new Set<string>();
  for (const a of data.attributes) if (a) for (const k of Object.keys(a)) keys.add(k);
  const { wordsA, wordsB } = data.comparisons;
  const out: Omit<CohortFinding, "note">[] = [];
  for (const key of [...keys].sort()) {
    const cohortOf = data.attributes.map((a) => a?.[key]);
    const raterCount = new Map<string, number>();
    for (const v of cohortOf) if (v !== undefined) raterCount.set(v, (raterCount.get(v) ?? 0) + 1);
    if (raterCount.size < 2) continue;
    for (const [value, nRaters] of [...raterCount].sort()) {
      if (nRaters < cfg.min_raters) continue;
      const inside = METRICS.map(() => new Moments());
      const outside = METRICS.map(() => new Moments());
      for (let q = 0; q < data.order.length; q++) {
        const j = data.order[q]!;
        const m = cohortOf[data.rater[j]!] === value ? inside : outside;
        const b = loo.between[j]!;
        if (!Number.isNaN(b)) m[0]!.add(loo.agree[j]! - b);
        const maj = loo.majority[j]!;
        const l = data.label[j]!;
        if (maj < 0 || l === LABEL_TIE || l === maj) continue;
        const c = data.comparison[j]!;
        if (wordsA[c] !== wordsB[c]) m[1]!.add((l === LABEL_A) === wordsA[c]! > wordsB[c]! ? 1 : 0);
        m[2]!.add((l === LABEL_A) !== (data.swapped[j] === 1) ? 1 : 0);
      }
      if (inside[0]!.n < cfg.min_judgments) continue;
      METRICS.forEach((metric, i) => {
        const a = inside[i]!;
        const r = outside[i]!;
        if (a.n < 10 || r.n < 10) return;
        const z = (a.mean - r.mean) / Math.sqrt(a.variance / a.n + r.variance / r.n + 1e-12);
        if (Math.abs(z) < cfg.min_z) return;
        out.push({
          attribute: key,
          value,
          raters: nRaters,
          judgments: inside[0]!.n,
          metric,
          cohort: a.mean,
          rest: r.mean,
          z,
        });
      });
    }
  }
  return out.sort((x, y) => Math.abs(y.z) - Math.abs(x.z));
}

describe("cohort findings in one pass", () => {
  const cohorts = { min_raters: 2, min_judgments: 10, min_z: 0.5 };
  const config = resolveAuditConfig({ signals: { cohorts } });

  it("finds what a pass per attribute value found (seeded panels)", () => {
    let compared = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const data = panel(seed, 20 + seed * 7, 150 + seed * 40);
      const loo = leaveOneOut(data);
      const got = cohortFindings(data, loo, config);
      const want = referenceCohorts(data, loo, cohorts);
      expect(got.map((f) => [f.attribute, f.value, f.metric, f.raters, f.judgments])).toEqual(
        want.map((f) => [f.attribute, f.value, f.metric, f.raters, f.judgments]),
      );
      got.forEach((f, i) => {
        const w = want[i]!;
        // The cohort's own moments are summed as before: bit for bit.
        expect(f.cohort).toBe(w.cohort);
        if (f.metric === "excess_agreement") {
          // The rest is everyone's minus the cohort's: equal up to rounding.
          expect(Math.abs(f.rest - w.rest)).toBeLessThan(1e-12);
          expect(Math.abs(f.z - w.z)).toBeLessThan(1e-9 * Math.max(1, Math.abs(w.z)));
        } else {
          // Shares sum 0s and 1s, exactly in any order.
          expect(f.rest).toBe(w.rest);
          expect(f.z).toBe(w.z);
        }
      });
      compared += got.length;
    }
    // The comparison is not vacuous: every metric is found somewhere.
    expect(compared).toBeGreaterThan(20);
  });

  it("reads each judgment's rater a few times per attribute, not once per value", () => {
    const data = panel(9, 70, 400);
    const loo = leaveOneOut(data);
    let reads = 0;
    const rater = new Proxy(data.rater, {
      get(target, key) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const counted: AuditData = { ...data, rater };
    const found = cohortFindings(counted, loo, config);
    expect(found.length).toBeGreaterThan(0);
    // Two attributes (7 teams, 2 locales): a pass per value read 9 times per judgment.
    expect(reads).toBeLessThanOrEqual(2 * data.order.length);
  });
});

/** The redundancy test as it was: every found pattern against every other. */
function referenceRedundant(found: readonly string[], pattern: string): boolean {
  const words = pattern.split(" ");
  return (
    words.length > 1 &&
    [...new Set(found)].some((h) => h !== pattern && h.split(" ").every((w) => words.includes(w)))
  );
}

describe("trigger patterns made of another pattern's words", () => {
  it("drops what comparing with every found pattern dropped (seeded pattern lists)", () => {
    let redundant = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const vocab = Array.from({ length: 2 + rng.int(6) }, (_, i) => `w${i}`);
      const found = Array.from({ length: 1 + rng.int(30) }, () =>
        Array.from({ length: 1 + rng.int(4) }, () => vocab[rng.int(vocab.length)]!).join(" "),
      );
      const test = containsOtherPattern(found);
      for (const p of found) {
        expect(test(p), `${p} in [${found.join(", ")}]`).toBe(referenceRedundant(found, p));
        if (test(p)) redundant++;
      }
    }
    expect(redundant).toBeGreaterThan(50);
  });

  it("splits each pattern a bounded number of times, not once per other pattern", () => {
    // 2,000 bigrams around one trigger word that is found last: each bigram was compared with
    // every found pattern before it came to the word.
    const found = [...Array.from({ length: 2000 }, (_, i) => `sudo v${i}`), "sudo"];
    const split = vi.spyOn(String.prototype, "split");
    const test = containsOtherPattern(found);
    expect(found.filter(test)).toHaveLength(2000);
    expect(split.mock.calls.length).toBeLessThanOrEqual(2 * found.length);
  });
});

describe("one-sided names", () => {
  const pieces = ["acme", "o'brien", "acme corp", "x", "ab-cd", "é", "\u{1d400}b", "corp", "_1"];
  const seps = [" ", "  ", "-", "'", ".", "ab", "\u{1d400}", "\n", ""];

  it("a response contains what a scan of its text found (seeded texts)", () => {
    let found = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new Rng(seed);
      const pick = (xs: readonly string[]) => xs[rng.int(xs.length)]!;
      const text = Array.from({ length: rng.int(12) }, () => pick(pieces) + pick(seps)).join("");
      const index = new WordIndex(text);
      // The first 16 words are looked up by scanning; the rest through the index.
      for (let k = 0; k < 16; k++) expect(index.has(`zz${k}`)).toBe(false);
      for (const word of [...pieces, "acme acme", "brien", "b", "cd", "corp x"]) {
        expect(index.has(word), `${JSON.stringify(word)} in ${JSON.stringify(text)}`).toBe(
          containsWord(text, word),
        );
        if (containsWord(text, word)) found++;
      }
    }
    expect(found).toBeGreaterThan(300);
  });

  it("reads a response once for all the other response's names, not once per name", () => {
    // Response a names 3,000 things (capitalised, none at a sentence start); b names none.
    const a = `see ${Array.from({ length: 3000 }, (_, i) => `Name${i}`).join(" ")}`;
    const b = `see ${Array.from({ length: 3000 }, (_, i) => `word${i}`).join(" ")}`;
    const data = prepareAuditData(
      {
        judgments: ["r1", "r2"].map((rater_id) => ({
          comparison_id: "c1",
          prompt: "p",
          response_a: a,
          response_b: b,
          rater_id,
          choice: "a" as const,
        })),
      },
      { safety: ruleClassifier(), useGold: true },
    );
    const cfg = resolveAuditConfig({}).signals.promotion;
    const indexOf = vi.spyOn(String.prototype, "indexOf");
    const sides = oneSidedWords(data, cfg);
    const scans = indexOf.mock.contexts.filter((x) => String(x).length === b.length).length;
    indexOf.mockRestore();
    expect(sides.vocab).toHaveLength(3000);
    expect(sides.words).toHaveLength(3000);
    // A scan of b per name of a read it 3,000 times; now the first 16 names, then an index.
    expect(scans).toBeLessThanOrEqual(16);
  });
});
