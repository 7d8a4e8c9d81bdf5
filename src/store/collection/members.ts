/**
 * Project membership and the rater's state in a project: guidelines acknowledged, onboarding
 * quiz attempts, and the pause/review status (active, paused pending review, excluded), with
 * every status change logged in `review_events`. Also skips (a task set aside with a reason).
 */
import type { Choice } from "../../core/types.js";
import { refusedOutcome } from "./outcome.js";
import type {
  CollectionDb,
  MemberStatus,
  ProjectMembersTable,
  ReviewAction,
  ReviewEventsTable,
} from "./schema.js";
import { byCodeUnits, newId, writeTransaction } from "./util.js";

export type Member = ProjectMembersTable;

/** Adds users to a project (already-members are left as they are); returns how many were added. */
export async function addMembers(
  db: CollectionDb,
  projectId: string,
  userIds: readonly string[],
  now: Date,
): Promise<number> {
  let added = 0;
  for (const user_id of userIds) {
    const r = await db
      .insertInto("project_members")
      .values({
        project_id: projectId,
        user_id,
        status: "active",
        status_reason: null,
        status_at: now.toISOString(),
        guidelines_ack_at: null,
        quiz_passed_at: null,
        quiz_attempts: 0,
        added_at: now.toISOString(),
      })
      .onConflict((oc) => oc.columns(["project_id", "user_id"]).doNothing())
      .executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

export async function getMember(
  db: CollectionDb,
  projectId: string,
  userId: string,
): Promise<Member | undefined> {
  return db
    .selectFrom("project_members")
    .selectAll()
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId)
    .executeTakeFirst();
}

export interface MemberWithUser extends Member {
  readonly login: string;
  readonly display_name: string;
  readonly role: string;
}

export async function listMembers(db: CollectionDb, projectId: string): Promise<MemberWithUser[]> {
  const rows = await db
    .selectFrom("project_members as m")
    .innerJoin("users as u", "u.user_id", "m.user_id")
    .selectAll("m")
    .select(["u.login", "u.display_name", "u.role"])
    .where("m.project_id", "=", projectId)
    .execute();
  // By login in code-unit order on both dialects (see byCodeUnits).
  return rows.sort((x, y) => byCodeUnits(x.login, y.login));
}

/** Projects a user belongs to. */
export async function memberProjects(db: CollectionDb, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("project_members")
    .select("project_id")
    .where("user_id", "=", userId)
    .execute();
  return rows.map((r) => r.project_id);
}

export async function ackGuidelines(
  db: CollectionDb,
  projectId: string,
  userId: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable("project_members")
    .set({ guidelines_ack_at: now.toISOString() })
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId)
    .where("guidelines_ack_at", "is", null)
    .execute();
}

/**
 * Records one quiz attempt (its answers and outcome) in one transaction. Returns how many
 * attempts the member has now used, or undefined when the limit was reached meanwhile. A
 * member's attempts are recorded one at a time (on PostgreSQL too): two at once would read the
 * same attempt count and number their answers alike.
 */
export async function recordQuizAttempt(
  db: CollectionDb,
  a: {
    project_id: string;
    user_id: string;
    answers: readonly { comparison_id: string; choice: Choice; correct: boolean }[];
    passed: boolean;
    maxAttempts: number;
  },
  now: Date,
): Promise<number | undefined> {
  return writeTransaction(
    db,
    async (trx) => {
      const m = await trx
        .selectFrom("project_members")
        .select("quiz_attempts")
        .where("project_id", "=", a.project_id)
        .where("user_id", "=", a.user_id)
        .executeTakeFirst();
      if (!m || m.quiz_attempts >= a.maxAttempts) return undefined;
      const attempt = m.quiz_attempts + 1;
      // Answers are numbered across reinstatements (attempts may be reset, the log is not).
      const last = await trx
        .selectFrom("quiz_answers")
        .select((eb) => eb.fn.max("attempt").as("n"))
        .where("project_id", "=", a.project_id)
        .where("user_id", "=", a.user_id)
        .executeTakeFirst();
      const number = Number(last?.n ?? 0) + 1;
      const at = now.toISOString();
      if (a.answers.length > 0) {
        await trx
          .insertInto("quiz_answers")
          .values(
            a.answers.map((x) => ({
              project_id: a.project_id,
              user_id: a.user_id,
              attempt: number,
              comparison_id: x.comparison_id,
              choice: x.choice,
              correct: x.correct ? 1 : 0,
              answered_at: at,
            })),
          )
          .execute();
      }
      await trx
        .updateTable("project_members")
        .set({ quiz_attempts: attempt, ...(a.passed ? { quiz_passed_at: at } : {}) })
        .where("project_id", "=", a.project_id)
        .where("user_id", "=", a.user_id)
        .execute();
      return attempt;
    },
    { serialize: `quiz:${JSON.stringify([a.project_id, a.user_id])}` },
  );
}

/** Gives a member who has not passed the quiz their attempts back (on reinstatement). */
export async function resetQuizAttempts(
  db: CollectionDb,
  projectId: string,
  userId: string,
): Promise<void> {
  await db
    .updateTable("project_members")
    .set({ quiz_attempts: 0 })
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId)
    .where("quiz_passed_at", "is", null)
    .execute();
}

/** Changes a member's status and logs the change; returns the updated member. */
export async function setMemberStatus(
  db: CollectionDb,
  e: {
    project_id: string;
    user_id: string;
    status: MemberStatus;
    action: ReviewAction;
    actor_id: string | null;
    reason: string;
    /** Only change when the current status is one of these (guards concurrent reviews). */
    from?: readonly MemberStatus[];
  },
  now: Date,
): Promise<Member | undefined> {
  return writeTransaction(db, async (trx) => {
    let q = trx
      .updateTable("project_members")
      .set({ status: e.status, status_reason: e.reason, status_at: now.toISOString() })
      .where("project_id", "=", e.project_id)
      .where("user_id", "=", e.user_id);
    if (e.from) q = q.where("status", "in", [...e.from]);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    await trx
      .insertInto("review_events")
      .values({
        event_id: newId("e"),
        project_id: e.project_id,
        user_id: e.user_id,
        action: e.action,
        actor_id: e.actor_id,
        reason: e.reason,
        created_at: now.toISOString(),
      })
      .execute();
    return trx
      .selectFrom("project_members")
      .selectAll()
      .where("project_id", "=", e.project_id)
      .where("user_id", "=", e.user_id)
      .executeTakeFirst();
  });
}

export async function reviewEvents(
  db: CollectionDb,
  projectId: string,
  userId?: string,
): Promise<ReviewEventsTable[]> {
  let q = db.selectFrom("review_events").selectAll().where("project_id", "=", projectId);
  if (userId !== undefined) q = q.where("user_id", "=", userId);
  return q.orderBy("created_at").orderBy("event_id").execute();
}

/**
 * Records a skip: "repeated" when the user had already skipped that comparison, "judged" (and
 * nothing written) when they have judged it — in any process: the store keeps one outcome per
 * task (migration 0003).
 */
/**
 * Records a skip: "recorded", "repeated" (skipped before) or "judged" (the task has its
 * judgment; nothing written). `admit`, run first in the same transaction (after the ledger
 * head), may refuse it: its answer is returned and nothing is written (the collection server
 * checks the rater's standing there, as at a judgment's commit).
 */
export async function recordSkip<R extends string = never>(
  db: CollectionDb,
  s: {
    project_id: string;
    user_id: string;
    comparison_id: string;
    reason: string;
    note: string | null;
  },
  now: Date,
  admit?: (trx: CollectionDb) => Promise<R | undefined>,
): Promise<"recorded" | "repeated" | "judged" | R> {
  try {
    // The skip's trigger checks the ledger under its head row: holding that row first bounds
    // the wait behind an import (PostgreSQL), as SQLite's busy timeout does.
    return await writeTransaction(
      db,
      async (trx) => {
        const refused = admit ? await admit(trx) : undefined;
        if (refused !== undefined) return refused;
        const r = await trx
          .insertInto("skips")
          .values({ ...s, created_at: now.toISOString() })
          .onConflict((oc) => oc.columns(["project_id", "user_id", "comparison_id"]).doNothing())
          .executeTakeFirst();
        return Number(r.numInsertedOrUpdatedRows ?? 0) > 0 ? "recorded" : "repeated";
      },
      { ledger: true },
    );
  } catch (e) {
    if (refusedOutcome(e) === "judged") return "judged";
    throw e;
  }
}

export async function skipCounts(
  db: CollectionDb,
  projectId: string,
): Promise<{ user_id: string; reason: string; n: number }[]> {
  const rows = await db
    .selectFrom("skips")
    .select(["user_id", "reason", (eb) => eb.fn.countAll<number>().as("n")])
    .where("project_id", "=", projectId)
    .groupBy(["user_id", "reason"])
    .execute();
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}
