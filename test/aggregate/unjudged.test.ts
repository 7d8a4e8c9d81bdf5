/**
 * A worker the data names but who gave no judgment (a defense's filtered view, data built by
 * hand) has no estimate in any method: NaN skill, reliability and bias, null in the JSON. Before,
 * each method reported its own start or prior for them (0, 1/K, ½, 0.9). The other workers'
 * values and the labels are those of the same data without that worker.
 */
import { describe, expect, it } from "vitest";
import {
  AGGREGATION_METHODS,
  type CategoricalData,
  type CategoricalResult,
  categoricalToJson,
  encodeCategorical,
  encodePairwise,
  majorityVote,
  type PairwiseData,
  type PairwiseResult,
  pairwiseToJson,
} from "../../src/aggregate/index.js";
import { crowd } from "./gen.js";

function withGhost<D extends CategoricalData | PairwiseData>(d: D): D {
  return { ...d, nWorkers: d.nWorkers + 1, workers: [...d.workers, "ghost"] };
}

/** Every per-worker array a result reports. */
function perWorker(r: CategoricalResult | PairwiseResult): [string, Float64Array][] {
  const out: [string, Float64Array][] = [];
  if (r.skills) out.push(["skills", r.skills]);
  if (r.reliability) out.push(["reliability", r.reliability]);
  if ("biases" in r && r.biases) out.push(["biases", r.biases]);
  return out;
}

const cat = encodeCategorical(crowd(4, 30, 6, 3, 4).rows);
const pairRows = [];
for (let i = 0; i < 60; i++) {
  const a = `i${i % 5}`;
  const b = `i${(i * 2 + 1) % 5}`;
  if (a === b) continue;
  pairRows.push({ worker: `w${i % 4}`, left: a, right: b, label: i % 3 === 0 ? b : a });
}
const pw = encodePairwise(pairRows);

describe("a worker without judgments", () => {
  for (const m of AGGREGATION_METHODS) {
    it(`${m.key}: no estimate (NaN), and the rest as without them`, () => {
      const options = m.validate(m.kind === "pairwise" ? { prior: 1 } : {});
      const plain = m.kind === "categorical" ? m.fit(cat, options) : m.fit(pw, options);
      const ghost =
        m.kind === "categorical" ? m.fit(withGhost(cat), options) : m.fit(withGhost(pw), options);
      const g = ghost.workers.indexOf("ghost");
      const arrays = perWorker(ghost);
      if (m.kind === "categorical") expect(arrays.length, m.key).toBeGreaterThan(0);
      for (const [name, a] of arrays) {
        expect(a.length, `${m.key} ${name}`).toBe(ghost.workers.length);
        expect(a[g], `${m.key} ${name}`).toBeNaN();
      }
      for (const [name, a] of perWorker(plain)) {
        const b = arrays.find(([n]) => n === name)![1];
        expect(Array.from(b.subarray(0, a.length)), `${m.key} ${name}`).toEqual(Array.from(a));
      }
      const json =
        m.kind === "categorical"
          ? categoricalToJson(ghost as CategoricalResult)
          : pairwiseToJson(ghost as PairwiseResult);
      for (const key of ["skills", "biases"]) {
        const map = json[key] as Record<string, number | null> | undefined;
        if (map) expect(map.ghost, `${m.key} ${key}`).toBeNull();
      }
    });
  }

  it("weighted majority vote reads no weight of a worker without judgments", () => {
    const d = withGhost(cat);
    const weights = new Float64Array(d.nWorkers).fill(1);
    weights[d.nWorkers - 1] = Number.NaN;
    expect(Array.from(majorityVote(d, { weights }).labels)).toEqual(
      Array.from(majorityVote(cat).labels),
    );
    weights[0] = Number.NaN;
    expect(() => majorityVote(d, { weights })).toThrow(/weight must be finite/);
  });

  it("empty data naming workers: no estimate for any", () => {
    const empty = withGhost(encodeCategorical([]));
    for (const m of AGGREGATION_METHODS) {
      if (m.kind !== "categorical") continue;
      const r = m.fit(empty, m.validate({}));
      expect(Array.from(r.reliability), m.key).toEqual([Number.NaN]);
    }
  });
});
