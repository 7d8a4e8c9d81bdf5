/** Judgment indices grouped by task, by a counting sort: O(n), 4 bytes per judgment. */
import type { CategoricalData } from "./types.js";

/** Judgments of task t are order[start[t] .. start[t+1]). */
export function groupByTask(data: CategoricalData): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(data.nTasks + 1);
  for (let j = 0; j < data.task.length; j++) start[data.task[j]! + 1]! += 1;
  for (let t = 0; t < data.nTasks; t++) start[t + 1]! += start[t]!;
  const fill = start.slice(0, data.nTasks);
  const order = new Int32Array(data.task.length);
  for (let j = 0; j < data.task.length; j++) order[fill[data.task[j]!]!++] = j;
  return { start, order };
}
