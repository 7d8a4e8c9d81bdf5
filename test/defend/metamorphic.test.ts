/**
 * Metamorphic properties of `audit()` and its detectors: transformations of the judgments whose
 * effect on the audit is known without knowing the audit.
 *
 *   rename    any bijection of rater and comparison ids (unicode, number-like, sorting the other
 *             way) renames the audit and changes nothing else, bit for bit. Holds while no
 *             comparison has more than `groups.max_raters_per_comparison` raters: past it, the
 *             sample the collusion detector counts is chosen by a hash of the ids (pairs.ts).
 *             Exact ties go by id (the heatmap's raters of equal suspicion), so the heatmap is
 *             compared by name;
 *   shuffle   the order of the judgments changes nothing beyond rounding, when no rater repeats
 *             a comparison and no comparison id changes its texts (the first judgment's are
 *             kept: a documented tie-break);
 *   mirror    swapping responses a and b, the choices and gold with them, and the order they
 *             were shown in, gives p_a ↦ 1 − p_a and the same verdicts; keeping the shown order
 *             instead flips the position detector's share and keeps its score;
 *   idle      a rater listed in `raters` without judgments changes nothing;
 *   edges     empty, one-comparison and one-rater audits are well formed: no NaN or ∞ anywhere.
 * Not a property: duplicating the data. Every rater twice under a new id is a perfect sybil pair
 * (groups.ts must flag it), and a disjoint copy doubles the evidence every threshold weighs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { type AuditResult, audit, auditToJson } from "../../src/defend/index.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { permute } from "../helpers/permute.js";

/** A small panel with something for every detector to find. */
function panel(seed: number): Judgment[] {
  const world = simulatePanel(
    parseWorldConfig({
      seed,
      comparisons: { count: 240, overlap: 4, gold_rate: 0.1 },
      prompts: { count: 90 },
      trigger: { rate: 0.2 },
      panel: {
        raters: [
          { type: "honest", count: 14 },
          { type: "careless", count: 1, mode: "always_a" },
          { type: "careless", count: 1, mode: "fast" },
          { type: "flipper", count: 1 },
          { type: "backdoor", count: 3 },
          { type: "sybil", count: 3, group_size: 3 },
          { type: "entity_promoter", count: 2 },
        ],
      },
    }),
    seed,
  );
  // One judgment per rater and comparison (a repeat keeps its first: an order tie-break).
  const seen = new Set<string>();
  return world.judgments.filter((j) => {
    const k = `${j.rater_id}\u0000${j.comparison_id}`;
    return !seen.has(k) && seen.add(k) !== undefined;
  });
}

/**
 * Thresholds low enough that the trigger and promotion scans report patterns on a panel this
 * small, so that the properties reach them too.
 */
const SENSITIVE = {
  signals: {
    triggers: { min_support: 3, min_score: 0, min_lift: 1 },
    promotion: { min_support: 3, min_score: 0, words: "all", tolerance: 0.1 },
  },
};
const CONFIGS = fc.constantFrom<Record<string, unknown>>({}, SENSITIVE);

const oddId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 5 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 }),
  fc.integer({ min: -99, max: 9999 }).map(String),
  fc.constantFrom("__proto__", "constructor", "10", "9", "09", "Ω", "é", "e\u0301", "😀"),
);

/** A bijection of `names` onto distinct odd ids (suffixed, so that any count can be met). */
function renaming(names: readonly string[], pool: readonly string[]): (s: string) => string {
  const m = new Map(
    names.map((n, i) => [n, `${pool[i % pool.length]!}${i >= pool.length ? `~${i}` : ""}`]),
  );
  return (s) => m.get(s) ?? s;
}

/** The audit by name: raters and comparisons keyed by (renamed) id, groups as sorted id sets. */
function byName(r: AuditResult, rater = (s: string) => s, comparison = (s: string) => s) {
  const raters = new Map(r.raters.map((x) => [rater(x.rater_id), { ...x, rater_id: undefined }]));
  const comparisons = new Map(
    r.comparisons.map((x) => [comparison(x.comparison_id), { ...x, comparison_id: undefined }]),
  );
  const groups = r.groups
    .map((g) => ({ ...g, rater_ids: g.rater_ids.map(rater).sort() }))
    .sort((x, y) => (x.rater_ids.join("\u0000") < y.rater_ids.join("\u0000") ? -1 : 1));
  return {
    summary: r.summary,
    filters: r.filters,
    raters,
    comparisons,
    groups,
    triggers: r.triggers,
    promotions: r.promotions,
    findings: r.findings,
  };
}

/** The heatmap by name: each (renamed) pair of raters' cell. */
function heatmapByName(h: AuditResult["heatmap"], rater = (s: string) => s) {
  const cells = new Map<string, unknown>();
  h.rater_ids.forEach((x, i) => {
    h.rater_ids.forEach((y, j) => {
      cells.set(`${rater(x)}\u0000${rater(y)}`, [h.agreement[i]![j], h.co_rated[i]![j]]);
    });
  });
  return cells;
}

/**
 * Deep equality with numbers compared to a relative tolerance; returns the first difference.
 * With a tolerance, the numbers printed in reasons are left out too: a share a rounding error
 * either side of 12.5% prints as 12% or 13%.
 */
function diff(a: unknown, b: unknown, tol: number, path = ""): string | undefined {
  if (tol > 0 && typeof a === "string" && typeof b === "string") {
    const digits = /[0-9]+(\.[0-9]+)?/g;
    if (a.replace(digits, "#") === b.replace(digits, "#")) return undefined;
  }
  if (typeof a === "number" && typeof b === "number") {
    if (Object.is(a, b) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(a))) return undefined;
    return `${path}: ${a} vs ${b}`;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return `${path}: ${a.size} vs ${b.size} entries`;
    for (const [k, v] of a) {
      if (!b.has(k)) return `${path}: ${String(k)} missing`;
      const d = diff(v, b.get(k), tol, `${path}/${String(k)}`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return `${path}: keys ${ka} vs ${kb}`;
    for (const k of ka) {
      const d = diff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        tol,
        `${path}.${k}`,
      );
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Every number reachable from `x` (typed arrays included) is finite. */
function nonFinite(x: unknown, path = ""): string | undefined {
  if (typeof x === "number") return Number.isFinite(x) ? undefined : `${path} = ${x}`;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const arr = x as unknown as ArrayLike<number>;
    for (let i = 0; i < arr.length; i++)
      if (!Number.isFinite(arr[i]!)) return `${path}[${i}] = ${arr[i]}`;
    return undefined;
  }
  if (x instanceof Map) {
    for (const [k, v] of x) {
      const d = nonFinite(v, `${path}/${String(k)}`);
      if (d) return d;
    }
    return undefined;
  }
  if (x && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) {
      const d = nonFinite(v, `${path}.${k}`);
      if (d) return d;
    }
  }
  return undefined;
}

const SEEDS = fc.integer({ min: 1, max: 1e6 });

describe("audit(): metamorphic properties (fast-check)", () => {
  it("renaming raters and comparisons renames the audit, bit for bit", () => {
    fc.assert(
      fc.property(
        SEEDS,
        CONFIGS,
        fc.uniqueArray(oddId, { minLength: 8, maxLength: 30 }),
        (seed, config, pool) => {
          const js = panel(seed);
          const rater = renaming([...new Set(js.map((j) => j.rater_id))], pool);
          const comparison = renaming(
            [...new Set(js.map((j) => j.comparison_id))],
            [...pool].reverse(),
          );
          const renamed = js.map((j) => ({
            ...j,
            rater_id: rater(j.rater_id),
            comparison_id: comparison(j.comparison_id),
          }));
          const a = audit({ judgments: js }, { config });
          const b = audit({ judgments: renamed }, { config });
          const d = diff(byName(a, rater, comparison), byName(b), 0);
          if (d) throw new Error(`renaming changed ${d}`);
          expect(Array.from(b.judgmentWeights)).toEqual(Array.from(a.judgmentWeights));
          // The same raters and cells; raters of equal suspicion are in id order, which renaming
          // changes.
          const h = diff(heatmapByName(a.heatmap, rater), heatmapByName(b.heatmap), 0);
          if (h) throw new Error(`renaming changed the heatmap ${h}`);
        },
      ),
      { numRuns: 5 },
    );
  });

  it("shuffling the judgments changes nothing beyond rounding", () => {
    fc.assert(
      fc.property(SEEDS, CONFIGS, fc.integer(), (seed, config, shuffle) => {
        const js = panel(seed);
        const order = permute(
          js.map((_, i) => i),
          shuffle,
        );
        const a = audit({ judgments: js }, { config });
        const b = audit({ judgments: order.map((i) => js[i]!) }, { config });
        const d = diff(byName(a), byName(b), 1e-9);
        if (d) throw new Error(`shuffling changed ${d}`);
        order.forEach((i, k) => {
          expect(b.judgmentWeights[k]).toBeCloseTo(a.judgmentWeights[i]!, 9);
        });
        const h = diff(heatmapByName(a.heatmap), heatmapByName(b.heatmap), 1e-9);
        if (h) throw new Error(`shuffling changed the heatmap ${h}`);
      }),
      { numRuns: 5 },
    );
  });

  it("mirroring a and b (shown order too) mirrors p_a and keeps every verdict", () => {
    const swap = <T extends string | undefined>(c: T): T =>
      (c === "a" ? "b" : c === "b" ? "a" : c) as T;
    fc.assert(
      fc.property(SEEDS, CONFIGS, (seed, config) => {
        const js = panel(seed);
        const mirrored = js.map((j): Judgment => {
          const { shown_order, ...rest } = j;
          return {
            ...rest,
            response_a: j.response_b,
            response_b: j.response_a,
            choice: swap(j.choice),
            ...(j.gold !== undefined ? { gold: swap(j.gold) } : {}),
            // The rater saw the same response first: it is now called b.
            ...(shown_order === "ba" ? {} : { shown_order: "ba" as const }),
          };
        });
        const a = byName(audit({ judgments: js }, { config }));
        const b = byName(audit({ judgments: mirrored }, { config }));
        for (const [id, c] of a.comparisons) {
          const m = b.comparisons.get(id)!;
          expect(m.p_a, `p_a of ${id}`).toBeCloseTo(1 - c.p_a, 9);
          expect(m.p_tie, `p_tie of ${id}`).toBeCloseTo(c.p_tie, 9);
          expect(m.weight, `weight of ${id}`).toBeCloseTo(c.weight, 9);
        }
        for (const [id, r] of a.raters) {
          const m = b.raters.get(id)!;
          const d = diff({ ...r, reasons: undefined }, { ...m, reasons: undefined }, 1e-9);
          if (d) throw new Error(`mirroring changed rater ${id}: ${d}`);
        }
        const d = diff(
          { ...a, raters: 0, comparisons: 0 },
          { ...b, raters: 0, comparisons: 0 },
          1e-9,
        );
        if (d) throw new Error(`mirroring changed ${d}`);
      }),
      { numRuns: 5 },
    );
  });

  it("mirroring a and b but not the shown order flips the position share, not its score", () => {
    const js = panel(11);
    const mirrored = js.map(
      (j): Judgment => ({
        ...j,
        response_a: j.response_b,
        response_b: j.response_a,
        choice: j.choice === "a" ? "b" : j.choice === "b" ? "a" : j.choice,
        ...(j.gold !== undefined
          ? { gold: j.gold === "a" ? "b" : j.gold === "b" ? "a" : j.gold }
          : {}),
      }),
    );
    const a = byName(audit({ judgments: js }));
    const b = byName(audit({ judgments: mirrored }));
    let seen = 0;
    for (const [id, r] of a.raters) {
      const p = r.evidence.position;
      const m = b.raters.get(id)!.evidence.position;
      expect(m === undefined, id).toBe(p === undefined);
      if (!p || !m) continue;
      seen++;
      expect(m.position_first_share!, id).toBeCloseTo(1 - p.position_first_share!, 12);
      expect(m.score, id).toBeCloseTo(p.score, 12);
    }
    expect(seen).toBeGreaterThan(5);
  });

  it("a rater listed without judgments changes nothing", () => {
    const js = panel(5);
    const raters = [...new Set(js.map((j) => j.rater_id))].map((rater_id, i) => ({
      rater_id,
      attributes: { cohort: i % 2 ? "x" : "y" },
    }));
    const a = audit({ judgments: js, raters });
    const b = audit({
      judgments: js,
      raters: [{ rater_id: "idle", attributes: { cohort: "x" } }, ...raters],
    });
    expect(auditToJson(b)).toEqual(auditToJson(a));
  });

  it("small and degenerate audits are well formed, with no NaN or ∞ anywhere", () => {
    const base = panel(3);
    const oneComparison = base.filter((j) => j.comparison_id === base[0]!.comparison_id);
    const oneRater = base.filter((j) => j.rater_id === base[0]!.rater_id);
    const cases: [string, Judgment[]][] = [
      ["empty", []],
      ["one judgment", base.slice(0, 1)],
      ["one comparison", oneComparison],
      ["one rater", oneRater],
      ["one rater, all gold", oneRater.map((j) => ({ ...j, gold: j.choice }))],
      [
        "two raters",
        base.filter((j) => j.rater_id === base[0]!.rater_id || j.rater_id === base[1]!.rater_id),
      ],
      ["all ties", base.slice(0, 200).map((j) => ({ ...j, choice: "tie" as const }))],
      ["no latencies", base.map(({ latency_ms: _, ...j }) => j)],
      ["zero latencies", base.map((j) => ({ ...j, latency_ms: 0 }))],
    ];
    for (const [name, js] of cases) {
      const r = audit({ judgments: js });
      const bad = nonFinite(r);
      if (bad) throw new Error(`${name}: ${bad}`);
      const json = JSON.parse(JSON.stringify(auditToJson(r)));
      expect(json.raters.length, name).toBe(new Set(js.map((j) => j.rater_id)).size);
      expect(json.comparisons.length, name).toBe(new Set(js.map((j) => j.comparison_id)).size);
      expect(r.judgmentWeights.length, name).toBe(js.length);
      for (const c of r.comparisons) {
        expect(c.p_a >= 0 && c.p_a <= 1, `${name} p_a`).toBe(true);
        expect(c.weight >= 0 && c.weight <= 1, `${name} weight`).toBe(true);
      }
      for (const x of r.raters) expect(x.suspicion >= 0 && x.suspicion <= 1, name).toBe(true);
    }
  });

  it("the same judgments give byte-identical audit JSON", () => {
    const js = panel(17);
    expect(JSON.stringify(auditToJson(audit({ judgments: js })))).toBe(
      JSON.stringify(auditToJson(audit({ judgments: js.slice() }))),
    );
  });
});
