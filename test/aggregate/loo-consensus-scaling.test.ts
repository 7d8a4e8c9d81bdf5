/**
 * The leave-one-out consensus finds each rater's plurality from how many classes have each
 * count, where it scanned the task's classes for every rater (r_t · d_t: a free-text task that
 * 40,000 raters labelled differently took 15 s; bench/scaling.ts). The scan is kept here as the
 * reference; the results must be the same bit for bit.
 */
import { describe, expect, it } from "vitest";
import { groupByTask } from "../../src/aggregate/grouping.js";
import { encodeCategorical, looConsensusAgreement } from "../../src/aggregate/index.js";
import type { CategoricalData } from "../../src/aggregate/types.js";
import { Rng } from "../../src/core/rng.js";

function reference(data: CategoricalData): { agreement: Float64Array; n: Int32Array } {
  const W = data.nWorkers;
  const { worker, label } = data;
  const credit = new Float64Array(W);
  const n = new Int32Array(W);
  const { start, order } = groupByTask(data);
  for (let t = 0; t < data.nTasks; t++) {
    const js = Array.from(order.subarray(start[t]!, start[t + 1]!));
    const counts = new Map<number, number>();
    for (const j of js) counts.set(label[j]!, (counts.get(label[j]!) ?? 0) + 1);
    const raters = [...new Set(js.map((j) => worker[j]!))].sort((x, y) => x - y);
    for (const w of raters) {
      const mine = js.filter((j) => worker[j] === w);
      const others = new Map(counts);
      for (const j of mine) others.set(label[j]!, others.get(label[j]!)! - 1);
      let top = 0;
      let ties = 0;
      for (const v of others.values()) {
        if (v > top) {
          top = v;
          ties = 1;
        } else if (v === top && v > 0) ties++;
      }
      for (const j of mine) {
        if (top === 0) continue;
        n[w]! += 1;
        if (others.get(label[j]!) === top) credit[w]! += 1 / ties;
      }
    }
  }
  const agreement = Float64Array.from(credit, (c, w) => (n[w]! > 0 ? c / n[w]! : Number.NaN));
  return { agreement, n };
}

describe("leave-one-out consensus agreement, plurality by counts of counts", () => {
  it("gives the scan's agreements bit for bit (seeded crowds, repeats, many classes)", () => {
    let counted = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const rng = new Rng(seed);
      const K = 1 + rng.int(seed % 3 === 0 ? 40 : 4);
      const W = 2 + rng.int(25);
      const rows = [];
      for (let t = 0; t < 1 + rng.int(12); t++) {
        for (let k = 0; k < 1 + rng.int(3 * W); k++) {
          // Repeats: a rater may label a task more than once.
          rows.push({ task: `t${t}`, worker: `w${rng.int(W)}`, label: `c${rng.int(K)}` });
        }
      }
      const data = encodeCategorical(rows);
      const got = looConsensusAgreement(data);
      const want = reference(data);
      expect(Array.from(got.n)).toEqual(Array.from(want.n));
      got.agreement.forEach((a, w) => {
        expect(Object.is(a, want.agreement[w]), `seed ${seed}, worker ${w}`).toBe(true);
      });
      counted += want.n.reduce((s, x) => s + x, 0);
    }
    expect(counted).toBeGreaterThan(1000);
  });

  it("one task, every rater a label of its own: no plurality is anyone's", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      task: "t",
      worker: `w${i}`,
      label: i < 3 ? "shared" : `text ${i}`,
    }));
    const data = encodeCategorical(rows);
    const r = looConsensusAgreement(data);
    const by = (w: string) => r.agreement[data.workers.indexOf(w)];
    // The three who wrote "shared" agree with the others' plurality, {shared: 2}.
    expect(by("w0")).toBe(1);
    // Everyone else sees "shared" ×3 as the plurality.
    expect(by("w10")).toBe(0);
    expect(Array.from(r.n).every((x) => x === 1)).toBe(true);
  });
});
