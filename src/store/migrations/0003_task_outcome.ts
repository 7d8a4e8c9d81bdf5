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
