/**
 * A task has one outcome: the rater's judgment (in the ledger) or their skip, never both. The
 * store refuses the second (migration 0003's triggers, in the transaction that writes it); this
 * reads such a refusal back from the driver's error.
 */
import { JUDGMENT_OF_SKIPPED_TASK, SKIP_OF_JUDGED_TASK } from "../migrations/0003_task_outcome.js";

/**
 * The outcome the task already had when the store refused a write of the other: "skipped" for
 * a refused judgment, "judged" for a refused skip; undefined for any other error. (Both
 * drivers, and the append worker's reply, keep the trigger's message as the error's message.)
 */
export function refusedOutcome(e: unknown): "judged" | "skipped" | undefined {
  const message = (e as { message?: unknown } | null)?.message;
  if (typeof message !== "string") return undefined;
  if (message.includes(JUDGMENT_OF_SKIPPED_TASK)) return "skipped";
  if (message.includes(SKIP_OF_JUDGED_TASK)) return "judged";
  return undefined;
}
