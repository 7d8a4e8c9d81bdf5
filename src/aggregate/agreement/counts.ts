/** Label counts per task, the sufficient statistic of the multi-rater agreement measures. */
import type { CategoricalData } from "../types.js";

/** n_tk = number of judgments on task t with class k. [nTasks, K] */
export function taskClassCounts(data: CategoricalData): Float64Array {
  const K = data.nClasses;
  const out = new Float64Array(data.nTasks * K);
  for (let j = 0; j < data.task.length; j++) out[data.task[j]! * K + data.label[j]!]! += 1;
  return out;
}
