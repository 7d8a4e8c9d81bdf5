/**
 * 0002: the collection service's tables — users, sessions, API tokens, invitations, projects
 * and their items, project membership with the pause/review state, onboarding quiz answers,
 * skips, the review log, and server settings (the secret task ids are derived from). Judgments themselves stay in the ledger (0001); nothing here is
 * part of the hash chain. Secrets (session ids, API tokens, invitation tokens) are stored only
 * as SHA-256 digests; passwords only as scrypt hashes.
 */
import { type Migration, sql } from "kysely";
import type { AnyDb, DialectName } from "./types.js";

export function collection(dialect: DialectName): Migration {
  const noRowid = dialect === "sqlite" ? sql`without rowid` : sql``;
  const real = dialect === "sqlite" ? "real" : "double precision";
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable("settings")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("users")
        .addColumn("user_id", "text", (c) => c.primaryKey())
        .addColumn("login", "text", (c) => c.notNull().unique())
        .addColumn("display_name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) =>
          c.notNull().check(sql`role IN ('owner', 'admin', 'reviewer', 'rater')`),
        )
        .addColumn("password_hash", "text")
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("sessions")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.user_id"))
        .addColumn("csrf_token", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("token_id", "text", (c) => c.notNull().unique())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.user_id"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .modifyEnd(noRowid)
        .execute();
      await db.schema.createIndex("api_tokens_user").on("api_tokens").column("user_id").execute();
      await db.schema
        .createTable("projects")
        .addColumn("project_id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("guidelines", "text", (c) => c.notNull())
        .addColumn("overlap", "integer", (c) => c.notNull())
        .addColumn("gold_rate", real, (c) => c.notNull())
        .addColumn("lease_seconds", "integer", (c) => c.notNull())
        .addColumn("quiz_pass_rate", real, (c) => c.notNull())
        .addColumn("quiz_max_attempts", "integer", (c) => c.notNull())
        .addColumn("pause_gold_accuracy", real, (c) => c.notNull())
        .addColumn("pause_min_gold", "integer", (c) => c.notNull())
        .addColumn("seed", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("invitations")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("invitation_id", "text", (c) => c.notNull().unique())
        .addColumn("role", "text", (c) =>
          c.notNull().check(sql`role IN ('owner', 'admin', 'reviewer', 'rater')`),
        )
        .addColumn("project_id", "text", (c) => c.references("projects.project_id"))
        .addColumn("created_by", "text", (c) => c.references("users.user_id"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addColumn("accepted_at", "text")
        .addColumn("accepted_user_id", "text", (c) => c.references("users.user_id"))
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("project_items")
        .addColumn("project_id", "text", (c) => c.notNull().references("projects.project_id"))
        .addColumn("comparison_id", "text", (c) =>
          c.notNull().references("comparisons.comparison_id"),
        )
        .addColumn("kind", "text", (c) => c.notNull().check(sql`kind IN ('task', 'quiz')`))
        .addColumn("batch", "text", (c) => c.notNull())
        .addColumn("position", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("project_items_pk", ["project_id", "comparison_id"])
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("project_members")
        .addColumn("project_id", "text", (c) => c.notNull().references("projects.project_id"))
        .addColumn("user_id", "text", (c) => c.notNull().references("users.user_id"))
        .addColumn("status", "text", (c) =>
          c.notNull().check(sql`status IN ('active', 'paused', 'excluded')`),
        )
        .addColumn("status_reason", "text")
        .addColumn("status_at", "text", (c) => c.notNull())
        .addColumn("guidelines_ack_at", "text")
        .addColumn("quiz_passed_at", "text")
        .addColumn("quiz_attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("added_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("project_members_pk", ["project_id", "user_id"])
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createIndex("project_members_user")
        .on("project_members")
        .column("user_id")
        .execute();
      await db.schema
        .createTable("quiz_answers")
        .addColumn("project_id", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("comparison_id", "text", (c) => c.notNull())
        .addColumn("choice", "text", (c) => c.notNull().check(sql`choice IN ('a', 'b', 'tie')`))
        .addColumn("correct", "integer", (c) => c.notNull())
        .addColumn("answered_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("quiz_answers_pk", [
          "project_id",
          "user_id",
          "attempt",
          "comparison_id",
        ])
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("skips")
        .addColumn("project_id", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("comparison_id", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("note", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("skips_pk", ["project_id", "user_id", "comparison_id"])
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createTable("review_events")
        .addColumn("event_id", "text", (c) => c.primaryKey())
        .addColumn("project_id", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) =>
          c.notNull().check(sql`action IN ('auto_pause', 'pause', 'reinstate', 'exclude')`),
        )
        .addColumn("actor_id", "text")
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .modifyEnd(noRowid)
        .execute();
      await db.schema
        .createIndex("review_events_project")
        .on("review_events")
        .columns(["project_id", "created_at"])
        .execute();
    },
  };
}
