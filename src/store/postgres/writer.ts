/**
 * The ledger writer of one PostgreSQL write transaction: bulk writes send whole columns as
 * arrays and insert with `unnest`, one statement per table per batch.
 */
import { sql, type Transaction } from "kysely";
import type { Choice } from "../../core/types.js";
import type { Database as Schema } from "../schema.js";
import {
  type ComparisonRow,
  type LedgerHead,
  type LedgerWriter,
  pairKey,
  type WriteBatch,
} from "../writer.js";

export class PostgresWriter implements LedgerWriter {
  readonly remote = true;

  constructor(
    private readonly trx: Transaction<Schema>,
    readonly head: LedgerHead,
  ) {}

  async findComparisons(ids: readonly string[]): Promise<Map<string, ComparisonRow>> {
    const out = new Map<string, ComparisonRow>();
    if (ids.length === 0) return out;
    const r = await sql<ComparisonRow>`
      SELECT comparison_id, prompt_digest, a_digest, b_digest, gold FROM comparisons
      WHERE comparison_id = ANY(${[...ids]}::text[])`.execute(this.trx);
    for (const row of r.rows) out.set(row.comparison_id, row);
    return out;
  }

  async findExistingPairs(
    pairs: readonly (readonly [string, string])[],
  ): Promise<Map<string, Choice>> {
    const out = new Map<string, Choice>();
    if (pairs.length === 0) return out;
    const r = await sql<{ comparison_id: string; rater_id: string; choice: Choice }>`
      SELECT j.comparison_id, j.rater_id, j.choice
      FROM judgments j
      JOIN unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) AS u(c, r)
        ON j.comparison_id = u.c AND j.rater_id = u.r`.execute(this.trx);
    for (const row of r.rows) out.set(pairKey(row.comparison_id, row.rater_id), row.choice);
    return out;
  }

  async findProjectTasks(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const r = await sql<{ comparison_id: string; project_id: string }>`
      SELECT comparison_id, project_id FROM project_items
      WHERE kind = 'task' AND comparison_id = ANY(${[...ids]}::text[])`.execute(this.trx);
    for (const row of r.rows) out.set(row.comparison_id, row.project_id);
    return out;
  }

  async write(b: WriteBatch): Promise<void> {
    const t = this.trx;
    if (b.texts.length > 0) {
      await sql`
        INSERT INTO texts (digest, body, is_chat)
        SELECT * FROM unnest(${b.texts.map((x) => x.digest)}::text[], ${b.texts.map((x) => x.body)}::text[],
                             ${b.texts.map((x) => x.is_chat)}::int[])
        ON CONFLICT (digest) DO NOTHING`.execute(t);
    }
    if (b.comparisons.length > 0) {
      const c = b.comparisons;
      await sql`
        INSERT INTO comparisons (comparison_id, prompt_digest, a_digest, b_digest, gold)
        SELECT * FROM unnest(${c.map((x) => x.comparison_id)}::text[], ${c.map((x) => x.prompt_digest)}::text[],
                             ${c.map((x) => x.a_digest)}::text[], ${c.map((x) => x.b_digest)}::text[],
                             ${c.map((x) => x.gold)}::text[])`.execute(t);
    }
    if (b.gold.length > 0) {
      await sql`
        UPDATE comparisons SET gold = u.gold
        FROM unnest(${b.gold.map((g) => g.comparison_id)}::text[], ${b.gold.map((g) => g.gold)}::text[]) AS u(id, gold)
        WHERE comparisons.comparison_id = u.id`.execute(t);
    }
    if (b.raters.length > 0) {
      await sql`
        INSERT INTO raters (rater_id, attributes, first_seen)
        SELECT r, '{}', f FROM unnest(${b.raters.map((r) => r.rater_id)}::text[], ${b.raters.map((r) => r.first_seen)}::text[]) AS u(r, f)
        ON CONFLICT (rater_id) DO NOTHING`.execute(t);
    }
    if (b.judgments.length > 0) {
      const j = b.judgments;
      await sql`
        INSERT INTO judgments (seq, comparison_id, rater_id, choice, created_at, latency_ms, shown_order,
                               rationale, flags, recorded_at, prev_hash, hash)
        SELECT * FROM unnest(
          ${j.map((x) => x.seq)}::bigint[], ${j.map((x) => x.comparison_id)}::text[], ${j.map((x) => x.rater_id)}::text[],
          ${j.map((x) => x.choice)}::text[], ${j.map((x) => x.created_at)}::text[],
          ${j.map((x) => x.latency_ms)}::double precision[], ${j.map((x) => x.shown_order)}::text[],
          ${j.map((x) => x.rationale)}::text[], ${j.map((x) => x.flags)}::text[], ${j.map((x) => x.recorded_at)}::text[],
          ${j.map((x) => x.prev_hash)}::text[], ${j.map((x) => x.hash)}::text[])`.execute(t);
    }
  }

  async setHead(head: LedgerHead): Promise<void> {
    await sql`UPDATE ledger_head SET seq = ${head.seq}, hash = ${head.hash} WHERE id = 1`.execute(
      this.trx,
    );
  }

  async upsertRaters(
    rows: readonly { rater_id: string; attributes: string; first_seen: string }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      INSERT INTO raters (rater_id, attributes, first_seen)
      SELECT * FROM unnest(${rows.map((r) => r.rater_id)}::text[], ${rows.map((r) => r.attributes)}::text[],
                           ${rows.map((r) => r.first_seen)}::text[])
      ON CONFLICT (rater_id) DO UPDATE SET attributes = excluded.attributes`.execute(this.trx);
  }
}
