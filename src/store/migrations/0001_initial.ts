/**
 * 0001: texts, comparisons, raters, the judgment ledger and its head. The same schema in both
 * dialects, with the few differences spelled out (SQLite's rowid primary key and WITHOUT ROWID
 * tables; PostgreSQL's bigint and trigger function syntax).
 */
import { type Migration, sql } from "kysely";
import { GENESIS_HASH } from "../ledger.js";
import type { AnyDb, DialectName } from "./types.js";

export function initial(dialect: DialectName): Migration {
  // Small rows keyed by text get one B-tree instead of a rowid table plus a unique index in
  // SQLite. (Texts stay a rowid table: their large bodies would make a keyed B-tree split often.)
  const noRowid = dialect === "sqlite" ? sql`without rowid` : sql``;
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable("texts")
        .addColumn("digest", "text", (c) => c.primaryKey())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("is_chat", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("comparisons")
        .addColumn("comparison_id", "text", (c) => c.primaryKey())
        .addColumn("prompt_digest", "text", (c) => c.notNull().references("texts.digest"))
        .addColumn("a_digest", "text", (c) => c.notNull().references("texts.digest"))
        .addColumn("b_digest", "text", (c) => c.notNull().references("texts.digest"))
        .addColumn("gold", "text", (c) => c.check(sql`gold IN ('a', 'b', 'tie')`))
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createIndex("comparisons_prompt")
        .on("comparisons")
        .column("prompt_digest")
        .execute();
      await db.schema
        .createTable("raters")
        .addColumn("rater_id", "text", (c) => c.primaryKey())
        .addColumn("attributes", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("first_seen", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("judgments")
        .addColumn("seq", dialect === "sqlite" ? "integer" : "bigint", (c) => c.primaryKey())
        .addColumn("comparison_id", "text", (c) =>
          c.notNull().references("comparisons.comparison_id"),
        )
        .addColumn("rater_id", "text", (c) => c.notNull().references("raters.rater_id"))
        .addColumn("choice", "text", (c) => c.notNull().check(sql`choice IN ('a', 'b', 'tie')`))
        .addColumn("created_at", "text")
        .addColumn("latency_ms", "double precision")
        .addColumn("shown_order", "text", (c) => c.check(sql`shown_order IN ('ab', 'ba')`))
        .addColumn("rationale", "text")
        .addColumn("flags", "text")
        .addColumn("recorded_at", "text", (c) => c.notNull())
        .addColumn("prev_hash", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addUniqueConstraint("judgments_comparison_rater", ["comparison_id", "rater_id"])
        .execute();
      await db.schema.createIndex("judgments_rater").on("judgments").column("rater_id").execute();
      await db.schema
        .createTable("ledger_head")
        .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn("seq", dialect === "sqlite" ? "integer" : "bigint", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .execute();
      await db.insertInto("ledger_head").values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();
      await appendOnlyTriggers(db, dialect);
    },
  };
}

/** Judgments may be inserted, never updated or deleted, through normal SQL. */
async function appendOnlyTriggers(db: AnyDb, dialect: DialectName): Promise<void> {
  if (dialect === "sqlite") {
    for (const op of ["UPDATE", "DELETE"]) {
      await sql
        .raw(
          `CREATE TRIGGER judgments_no_${op.toLowerCase()} BEFORE ${op} ON judgments ` +
            `BEGIN SELECT RAISE(ABORT, 'KEEL_E_LEDGER: judgments are append-only'); END`,
        )
        .execute(db);
    }
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION keel_judgments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ ` +
        `BEGIN RAISE EXCEPTION 'KEEL_E_LEDGER: judgments are append-only'; END $$`,
    )
    .execute(db);
  await sql
    .raw(
      "CREATE TRIGGER judgments_append_only BEFORE UPDATE OR DELETE ON judgments " +
        "FOR EACH ROW EXECUTE FUNCTION keel_judgments_append_only()",
    )
    .execute(db);
}
