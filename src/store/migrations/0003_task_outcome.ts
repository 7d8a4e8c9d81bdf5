/**
 * 0003: a task has one outcome. A rater's judgment of a comparison (a ledger row) and their skip
 * of it (a `skips` row) exclude each other, and the database holds it, so it holds for any
 * number of server processes on one store: a judgment and a skip sent at once to two processes,
 * or a judgment retried on another, record one outcome, never both. (Two judgments of one pair
 * were already excluded: the ledger's unique (comparison_id, rater_id), checked under the head
 * lock.) A comparison is an item of one project only, so (comparison, rater) names the task.
 *
 * Each side's insert checks the other table, and the two checks must not pass side by side:
 * - SQLite has one writer at a time, and a write transaction reads the latest commit, so a
 *   BEFORE INSERT trigger on each table is enough.
 * - PostgreSQL (read committed) runs the ledger append with the head row locked FOR UPDATE. The
 *   skip's trigger first locks the same row FOR KEY SHARE, which waits for an append in flight
 *   and holds the next one off until the skip commits (skips do not wait for each other); its
 *   check, a new statement, then sees the append's judgments. The judgments side checks once
 *   per INSERT statement (a bulk import inserts thousands of rows in one), over the statement's
 *   new rows, after the head lock is held, so it sees every committed skip and no skip can be
 *   between its lock and its commit.
 *
 * A refused write raises one of the two messages below (the server reads them back with
 * `refusedOutcome`, src/store/collection/outcome.ts); its transaction rolls back whole.
 */
import { type Migration, sql } from "kysely";
import { KeelError } from "../../core/errors.js";
import type { AnyDb, DialectName } from "./types.js";

/** Raised by a judgment insert whose (comparison, rater) has a skip. */
export const JUDGMENT_OF_SKIPPED_TASK =
  "KEEL_E_DUPLICATE: task outcome: the rater skipped this comparison";
/** Raised by a skip insert whose (comparison, user) has a judgment. */
export const SKIP_OF_JUDGED_TASK =
  "KEEL_E_DUPLICATE: task outcome: the rater judged this comparison";

export function taskOutcome(dialect: DialectName): Migration {
  return {
    async up(db: AnyDb) {
      await refuseBothOutcomes(db);
      // The judgments side's lookup (the skips' key starts with the project, which it lacks).
      await db.schema
        .createIndex("skips_task")
        .on("skips")
        .columns(["comparison_id", "user_id"])
        .execute();
      if (dialect === "sqlite") await sqliteTriggers(db);
      else await postgresTriggers(db);
    },
  };
}

/** Tasks shown in the refusal, at most. */
const SHOWN_TASKS = 5;

/**
 * A store written before 0003 may hold a task with both outcomes (a judgment and a skip sent
 * to two processes at once). The triggers would not notice: they check new rows only. Which
 * outcome stands is the owner's call, not a migration's, and neither is deleted behind their
 * back: the migration refuses, naming the tasks, and the store stays as it was.
 */
async function refuseBothOutcomes(db: AnyDb): Promise<void> {
  const both = sql`FROM skips s JOIN judgments j ON j.comparison_id = s.comparison_id AND j.rater_id = s.user_id`;
  const count = await sql<{ n: number | string }>`SELECT count(*) AS n ${both}`.execute(db);
  const n = Number(count.rows[0]?.n ?? 0);
  if (n === 0) return;
  const shown = await sql<{
    project_id: string;
    user_id: string;
    comparison_id: string;
    seq: number;
  }>`
    SELECT s.project_id, s.user_id, s.comparison_id, j.seq ${both}
    ORDER BY j.seq, s.project_id LIMIT ${SHOWN_TASKS}`.execute(db);
  const tasks = shown.rows.map(
    (t) =>
      `rater ${JSON.stringify(t.user_id)} judged comparison ${JSON.stringify(t.comparison_id)} (ledger row ${Number(t.seq)}) and skipped it in project ${JSON.stringify(t.project_id)}`,
  );
  throw new KeelError(
    "KEEL_E_CONFLICT",
    `${n} task${n === 1 ? " has" : "s have"} both a judgment and a skip, recorded before keel kept one outcome per task: ${tasks.join("; ")}${n > SHOWN_TASKS ? "; …" : ""}`,
    {
      hint: "the judgments stand in the append-only ledger: to keep them as those tasks' outcomes, delete the skips (sqlite3 or psql: DELETE FROM skips WHERE EXISTS (SELECT 1 FROM judgments j WHERE j.comparison_id = skips.comparison_id AND j.rater_id = skips.user_id)), then open the store again",
    },
  );
}

async function sqliteTriggers(db: AnyDb): Promise<void> {
  await sql
    .raw(
      "CREATE TRIGGER judgments_not_skipped BEFORE INSERT ON judgments WHEN EXISTS " +
        "(SELECT 1 FROM skips WHERE comparison_id = NEW.comparison_id AND user_id = NEW.rater_id) " +
        `BEGIN SELECT RAISE(ABORT, '${JUDGMENT_OF_SKIPPED_TASK}'); END`,
    )
    .execute(db);
  await sql
    .raw(
      "CREATE TRIGGER skips_not_judged BEFORE INSERT ON skips WHEN EXISTS " +
        "(SELECT 1 FROM judgments WHERE comparison_id = NEW.comparison_id AND rater_id = NEW.user_id) " +
        `BEGIN SELECT RAISE(ABORT, '${SKIP_OF_JUDGED_TASK}'); END`,
    )
    .execute(db);
}

async function postgresTriggers(db: AnyDb): Promise<void> {
  await sql
    .raw(
      "CREATE FUNCTION keel_judgments_not_skipped() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
        "IF EXISTS (SELECT 1 FROM keel_new_judgments n JOIN skips s " +
        "ON s.comparison_id = n.comparison_id AND s.user_id = n.rater_id) THEN " +
        `RAISE EXCEPTION '${JUDGMENT_OF_SKIPPED_TASK}'; END IF; RETURN NULL; END $$`,
    )
    .execute(db);
  await sql
    .raw(
      "CREATE TRIGGER judgments_not_skipped AFTER INSERT ON judgments " +
        "REFERENCING NEW TABLE AS keel_new_judgments " +
        "FOR EACH STATEMENT EXECUTE FUNCTION keel_judgments_not_skipped()",
    )
    .execute(db);
  await sql
    .raw(
      "CREATE FUNCTION keel_skips_not_judged() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
        "PERFORM 1 FROM ledger_head WHERE id = 1 FOR KEY SHARE; " +
        "IF EXISTS (SELECT 1 FROM judgments " +
        "WHERE comparison_id = NEW.comparison_id AND rater_id = NEW.user_id) THEN " +
        `RAISE EXCEPTION '${SKIP_OF_JUDGED_TASK}'; END IF; RETURN NEW; END $$`,
    )
    .execute(db);
  await sql
    .raw(
      "CREATE TRIGGER skips_not_judged BEFORE INSERT ON skips " +
        "FOR EACH ROW EXECUTE FUNCTION keel_skips_not_judged()",
    )
    .execute(db);
}
