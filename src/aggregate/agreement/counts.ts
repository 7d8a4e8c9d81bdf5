/**
 * Label counts per task, the sufficient statistic of the multi-rater agreement measures, stored
 * sparsely: only the classes each task received. Dense [nTasks, K] counts would take 8·T·K
 * bytes, which free-text labels (a class per label) turn into gigabytes: 40,000 tasks with two
 * distinct labels each asked for 25 GB. This takes O(n + K) memory and O(n) time.
 */
import { groupByTask } from "../grouping.js";
import type { CategoricalData } from "../types.js";

export interface TaskClassCounts {
  /** Entries of task t are [start[t], start[t+1]). [nTasks + 1] */
  readonly start: Int32Array;
  /** Class of each entry, in order of first appearance on the task. [entries] */
  readonly cls: Int32Array;
  /** n_tk, the number of judgments on task t with class k, of each entry. [entries] */
  readonly count: Float64Array;
}

export function taskClassCounts(data: CategoricalData): TaskClassCounts {
  const { start: jStart, order } = groupByTask(data);
  const tally = new Float64Array(data.nClasses);
  const start = new Int32Array(data.nTasks + 1);
  const cls = new Int32Array(data.task.length);
  const count = new Float64Array(data.task.length);
  let e = 0;
  for (let t = 0; t < data.nTasks; t++) {
    const first = e;
    for (let q = jStart[t]!; q < jStart[t + 1]!; q++) {
      const c = data.label[order[q]!]!;
      if (tally[c] === 0) cls[e++] = c;
      tally[c]! += 1;
    }
    for (let x = first; x < e; x++) {
      count[x] = tally[cls[x]!]!;
      tally[cls[x]!] = 0;
    }
    start[t + 1] = e;
  }
  return { start, cls: cls.subarray(0, e), count: count.subarray(0, e) };
}
