/** `keel stats`: counts per rater and per prompt, and the balance of choices. */

import type { Kysely } from "kysely";
import { KeelError } from "../core/errors.js";
import type { Choice } from "../core/types.js";
import type { Database } from "./schema.js";
import type { FeedbackStore } from "./store.js";

export interface RaterStats {
  readonly rater_id: string;
  readonly judgments: number;
  readonly a: number;
  readonly b: number;
  readonly tie: number;
  /** Judgments of gold comparisons, and how many matched the gold answer. */
  readonly gold_seen: number;
  readonly gold_correct: number;
}

export interface PromptStats {
  readonly prompt_digest: string;
  readonly preview: string;
  readonly comparisons: number;
  readonly judgments: number;
}

export interface StoreStats {
  readonly judgments: number;
  readonly comparisons: number;
  readonly gold_comparisons: number;
  readonly raters: number;
  readonly prompts: number;
  readonly texts: number;
  readonly choices: Record<Choice, number>;
  readonly head: { readonly seq: number; readonly hash: string };
  /** Every rater, in rater-id order; those with no judgments yet have zero counts. */
  readonly per_rater: RaterStats[];
  readonly per_prompt: PromptStats[];
}

const n = (x: unknown): number => Number(x ?? 0);

const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Rows in rater-id order by UTF-16 code units, sorted here rather than by ORDER BY: PostgreSQL's
 * follows the database's collation (en_US puts "a" before "B"), SQLite's compares UTF-8 bytes
 * (code points, which put U+E000 before an emoji, where code units do not), and the two stores
 * must agree.
 */
export function sortByRaterId<T extends { readonly rater_id: string }>(rows: T[]): T[] {
  return rows.sort((x, y) => (x.rater_id < y.rater_id ? -1 : x.rater_id > y.rater_id ? 1 : 0));
}

/** Collects the statistics; `top` limits the per-prompt list (most-judged first). */
export async function storeStats(
  store: FeedbackStore,
  opts: { top?: number } = {},
): Promise<StoreStats> {
  // One snapshot: counts taken while another process appends agree with each other and with
  // the head (judgments = head seq = the per-rater and per-choice sums).
  return store.readSnapshot((db) => statsIn(db, opts));
}

async function statsIn(db: Kysely<Database>, opts: { top?: number }): Promise<StoreStats> {
  const count = async (table: "judgments" | "comparisons" | "raters" | "texts") =>
    n(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst()
      )?.n,
    );
  const gold = n(
    (
      await db
        .selectFrom("comparisons")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("gold", "is not", null)
        .executeTakeFirst()
    )?.n,
  );
  const prompts = n(
    (
      await db
        .selectFrom("comparisons")
        .select((eb) => eb.fn.count("prompt_digest").distinct().as("n"))
        .executeTakeFirst()
    )?.n,
  );
  const choices: Record<Choice, number> = { a: 0, b: 0, tie: 0 };
  for (const r of await db
    .selectFrom("judgments")
    .select(["choice", (eb) => eb.fn.countAll().as("n")])
    .groupBy("choice")
    .execute()) {
    choices[r.choice] = n(r.n);
  }
  // From the raters, so that a rater with no judgments yet (one a raters file brought) is
  // listed too, with zero counts.
  const perRater = await db
    .selectFrom("raters as r")
    .leftJoin("judgments as j", "j.rater_id", "r.rater_id")
    .leftJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
    .select((eb) => [
      "r.rater_id",
      eb.fn.count("j.seq").as("judgments"),
      eb.fn.sum(eb.case().when("j.choice", "=", "a").then(1).else(0).end()).as("a"),
      eb.fn.sum(eb.case().when("j.choice", "=", "b").then(1).else(0).end()).as("b"),
      eb.fn.sum(eb.case().when("j.choice", "=", "tie").then(1).else(0).end()).as("tie"),
      eb.fn.sum(eb.case().when("c.gold", "is not", null).then(1).else(0).end()).as("gold_seen"),
      eb.fn
        .sum(eb.case().when("c.gold", "=", eb.ref("j.choice")).then(1).else(0).end())
        .as("gold_correct"),
    ])
    .groupBy("r.rater_id")
    .execute();
  let promptQuery = db
    .selectFrom("comparisons as c")
    .innerJoin("texts as t", "t.digest", "c.prompt_digest")
    .leftJoin("judgments as j", "j.comparison_id", "c.comparison_id")
    .select((eb) => [
      "c.prompt_digest",
      "t.body",
      eb.fn.count("c.comparison_id").distinct().as("comparisons"),
      eb.fn.count("j.seq").as("judgments"),
    ])
    .groupBy(["c.prompt_digest", "t.body"])
    .orderBy("judgments", "desc")
    .orderBy("c.prompt_digest");
  // A LIMIT past 2^53 is not an integer to either database (SQLite: datatype mismatch).
  if (opts.top !== undefined) promptQuery = promptQuery.limit(Math.min(opts.top, MAX_LIMIT));
  const perPrompt = await promptQuery.execute();
  return {
    judgments: await count("judgments"),
    comparisons: await count("comparisons"),
    gold_comparisons: gold,
    raters: await count("raters"),
    prompts,
    texts: await count("texts"),
    choices,
    head: await readLedgerHead(db),
    per_rater: sortByRaterId(perRater).map((r) => ({
      rater_id: r.rater_id,
      judgments: n(r.judgments),
      a: n(r.a),
      b: n(r.b),
      tie: n(r.tie),
      gold_seen: n(r.gold_seen),
      gold_correct: n(r.gold_correct),
    })),
    per_prompt: perPrompt.map((r) => ({
      prompt_digest: r.prompt_digest,
      preview: r.body.length > 80 ? `${r.body.slice(0, 77)}...` : r.body,
      comparisons: n(r.comparisons),
      judgments: n(r.judgments),
    })),
  };
}

/** The head recorded in the store (updated in the same transaction as every append). */
export async function readLedgerHead(db: Kysely<Database>): Promise<{ seq: number; hash: string }> {
  const row = await db
    .selectFrom("ledger_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  if (!row) throw new KeelError("KEEL_E_STORE_SCHEMA", "the ledger_head row is missing");
  return { seq: Number(row.seq), hash: row.hash };
}
