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

/**
 * Each rater's first label of each task, in row order: the agreement measures count one value
 * per rater and task (Cohen's kappa already takes the first), and a file that repeats a rater's
 * label of a task would count it as agreeing with itself. The data itself when nothing repeats
 * (a store's judgments never do: one per comparison and rater).
 */
export function firstLabels(data: CategoricalData): { data: CategoricalData; repeats: number } {
  const { start, order } = groupByTask(data);
  const seenIn = new Int32Array(data.nWorkers).fill(-1);
  const keep = new Uint8Array(data.task.length);
  let repeats = 0;
  for (let t = 0; t < data.nTasks; t++) {
    for (let q = start[t]!; q < start[t + 1]!; q++) {
      const j = order[q]!;
      const w = data.worker[j]!;
      if (seenIn[w] === t) repeats++;
      else {
        seenIn[w] = t;
        keep[j] = 1;
      }
    }
  }
  if (repeats === 0) return { data, repeats };
  const n = data.task.length - repeats;
  const task = new Int32Array(n);
  const worker = new Int32Array(n);
  const label = new Int32Array(n);
  let k = 0;
  for (let j = 0; j < data.task.length; j++) {
    if (!keep[j]) continue;
    task[k] = data.task[j]!;
    worker[k] = data.worker[j]!;
    label[k] = data.label[j]!;
    k++;
  }
  return { data: { ...data, task, worker, label }, repeats };
}
