/** Seeded synthetic crowds for the aggregation tests. */
import { Rng } from "../../src/core/rng.js";

export interface Row {
  task: string;
  worker: string;
  label: string;
}

/**
 * nTasks tasks with true classes uniform over K, each labelled by `perTask` distinct workers out
 * of nWorkers; worker w is right with probability acc[w], otherwise uniform over the other classes.
 */
export function crowd(
  seed: number,
  nTasks: number,
  nWorkers: number,
  K: number,
  perTask: number,
  acc?: number[],
): { rows: Row[]; truth: Map<string, string> } {
  const rng = new Rng(seed);
  const accuracy = acc ?? Array.from({ length: nWorkers }, () => rng.uniform(0.55, 0.95));
  const rows: Row[] = [];
  const truth = new Map<string, string>();
  for (let t = 0; t < nTasks; t++) {
    const z = rng.int(K);
    truth.set(`t${t}`, `c${z}`);
    for (const w of rng.sampleIndices(nWorkers, Math.min(perTask, nWorkers))) {
      let l = z;
      if (!rng.bernoulli(accuracy[w]!)) l = (z + 1 + rng.int(K - 1)) % K;
      rows.push({ task: `t${t}`, worker: `w${w}`, label: `c${l}` });
    }
  }
  return { rows, truth };
}
