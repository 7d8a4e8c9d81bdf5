/**
 * The feedback store's tables, as Kysely sees them. Texts are stored once under their content
 * digest; comparisons point at three texts; judgments form the hash-chained ledger.
 */
import type { Choice, ShownOrder } from "../core/types.js";

export interface TextsTable {
  digest: string;
  body: string;
  /** 1 when `body` is a JSON message list, 0 for plain text. */
  is_chat: number;
}

export interface ComparisonsTable {
  comparison_id: string;
  prompt_digest: string;
  a_digest: string;
  b_digest: string;
  gold: Choice | null;
}

export interface RatersTable {
  rater_id: string;
  /** JSON object of string attributes (locale, cohort, …). */
  attributes: string;
  first_seen: string;
}

export interface JudgmentsTable {
  seq: number;
  comparison_id: string;
  rater_id: string;
  choice: Choice;
  created_at: string | null;
  latency_ms: number | null;
  shown_order: ShownOrder | null;
  rationale: string | null;
  /** JSON array of strings, or null. */
  flags: string | null;
  recorded_at: string;
  prev_hash: string;
  hash: string;
}

export interface LedgerHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface Database {
  texts: TextsTable;
  comparisons: ComparisonsTable;
  raters: RatersTable;
  judgments: JudgmentsTable;
  ledger_head: LedgerHeadTable;
}
