/**
 * The checks a judgment passes again inside the transaction that commits it. The task routes
 * check the rater's standing and the comparison's free slots when the judgment arrives, but it
 * then waits for its group commit; meanwhile a reviewer may pause the rater, an admin disable
 * them, or lower the overlap so that another holder's judgment completes the comparison. Run
 * in the append's transaction, after it holds the ledger head, these checks see every change
 * committed before it, and on PostgreSQL hold the member and user rows (FOR SHARE) so that a
 * pause waits for the commit rather than passing it unseen. (SQLite's single writer already
 * orders the two.)
 *
 * - Standing: the rater must still be an active member of the project and not disabled (a
 *   rater who is no member is refused as excluded, disabled or not).
 * - Overlap: an ordinary task comparison takes a judgment only while fewer than the project's
 *   `overlap` raters have judged it, counting the earlier judgments of the same batch. A rater
 *   who already judged it is left to the ledger's duplicate check.
 */
import type { Kysely } from "kysely";
import type { CollectionTables } from "../../store/collection/index.js";
import type { Database } from "../../store/schema.js";

/** What a judgment is for, as the task route saw it. */
export interface Stake {
  readonly project_id: string;
  readonly user_id: string;
  readonly comparison_id: string;
  /** An ordinary task (not gold), whose judgments are limited by the project's overlap. */
  readonly capped: boolean;
}

/** Why a judgment was refused at commit. */
export type Refusal = "paused" | "excluded" | "disabled" | "full";

/**
 * Refusals by batch index for the judgments whose stakes fail the checks (a judgment without a
 * stake is not checked). `lock`: take the rows read FOR SHARE (PostgreSQL).
 */
export async function admitJudgments(
  tx: Kysely<Database>,
  stakes: readonly (Stake | undefined)[],
  lock: boolean,
): Promise<Map<number, Refusal>> {
  const db = tx.withTables<CollectionTables>();
  const refused = new Map<number, Refusal>();
  const present = stakes.flatMap((s) => (s ? [s] : []));
  if (present.length === 0) return refused;
  const users = [...new Set(present.map((s) => s.user_id))];
  const projects = [...new Set(present.map((s) => s.project_id))];
  const capped = [...new Set(present.filter((s) => s.capped).map((s) => s.comparison_id))];

  // One query for the standing (member status, the account's flag, the project's overlap) and
  // one for the capped comparisons' judges: each commit pays for these, so they are few.
  let mq = db
    .selectFrom("project_members as m")
    .innerJoin("users as u", "u.user_id", "m.user_id")
    .innerJoin("projects as p", "p.project_id", "m.project_id")
    .select(["m.project_id", "m.user_id", "m.status", "u.disabled", "p.overlap"])
    .where("m.project_id", "in", projects)
    .where("m.user_id", "in", users);
  if (lock) mq = mq.forShare(["m", "u"]);
  const rows = await mq.execute();
  const status = new Map<string, (typeof rows)[number]["status"]>();
  const disabled = new Set<string>();
  const overlap = new Map<string, number>();
  for (const m of rows) {
    status.set(`${m.project_id}\u0000${m.user_id}`, m.status);
    if (Number(m.disabled) !== 0) disabled.add(m.user_id);
    overlap.set(m.project_id, Number(m.overlap));
  }
  const judgedBy = new Map<string, Set<string>>();
  if (capped.length > 0) {
    for (const j of await db
      .selectFrom("judgments")
      .select(["comparison_id", "rater_id"])
      .where("comparison_id", "in", capped)
      .execute())
      addTo(judgedBy, j.comparison_id, j.rater_id);
  }

  stakes.forEach((s, i) => {
    if (!s) return;
    const st = status.get(`${s.project_id}\u0000${s.user_id}`);
    if (disabled.has(s.user_id)) refused.set(i, "disabled");
    else if (st !== "active") refused.set(i, st ?? "excluded");
    if (refused.has(i) || !s.capped) return;
    const raters = judgedBy.get(s.comparison_id);
    if (raters?.has(s.user_id)) return;
    if ((raters?.size ?? 0) >= (overlap.get(s.project_id) ?? Number.POSITIVE_INFINITY)) {
      refused.set(i, "full");
      return;
    }
    addTo(judgedBy, s.comparison_id, s.user_id);
  });
  return refused;
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (s) s.add(v);
  else m.set(k, new Set([v]));
}
