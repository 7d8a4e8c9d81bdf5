/**
 * A skip, recorded in a transaction that checks the rater's standing again (admit.ts), as a
 * judgment's commit does. A skip is an outcome: the rater is never served the task again, can
 * no longer judge it (migration 0003), and it counts in their progress and in the reviewers'
 * rater table. The route checks the rater's standing on arrival from this process's copy of it,
 * which a pause made by another process (or committed meanwhile) leaves stale; checked in the
 * skip's own transaction, the standing is the store's. On PostgreSQL the member and user rows
 * are read FOR SHARE, so a pause committed at the same moment waits for the skip or is seen by
 * it; SQLite's single writer orders the two.
 *
 * The overlap is not checked here: a skip takes no slot of the comparison.
 */
import type { Kysely } from "kysely";
import { type CollectionDb, recordSkip } from "../../store/collection/index.js";
import type { Database } from "../../store/schema.js";
import { admitJudgments, type Refusal } from "./admit.js";

export interface SkipRecord {
  readonly project_id: string;
  readonly user_id: string;
  readonly comparison_id: string;
  readonly reason: string;
  readonly note: string | null;
}

/**
 * "recorded", "repeated" (skipped before), "judged" (the task has its judgment; nothing
 * written), or the refusal of the standing check (nothing written).
 */
export function recordSkipAdmitted(
  db: CollectionDb,
  s: SkipRecord,
  now: Date,
  lock: boolean,
): Promise<"recorded" | "repeated" | "judged" | Refusal> {
  const stake = { ...s, capped: false };
  return recordSkip(db, s, now, async (trx) =>
    (await admitJudgments(trx as unknown as Kysely<Database>, [stake], lock)).get(0),
  );
}
