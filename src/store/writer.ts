/** What a dialect provides for appending to the ledger inside one write transaction. */
import type { Choice } from "../core/types.js";
import type { JudgmentsTable } from "./schema.js";

export interface TextRow {
  readonly digest: string;
  readonly body: string;
  readonly is_chat: number;
}

export interface ComparisonRow {
  readonly comparison_id: string;
  readonly prompt_digest: string;
  readonly a_digest: string;
  readonly b_digest: string;
  readonly gold: Choice | null;
}

export type JudgmentRow = JudgmentsTable;

export interface WriteBatch {
  readonly texts: readonly TextRow[];
  readonly comparisons: readonly ComparisonRow[];
  readonly gold: readonly { readonly comparison_id: string; readonly gold: Choice }[];
  readonly raters: readonly { readonly rater_id: string; readonly first_seen: string }[];
  readonly judgments: readonly JudgmentRow[];
}

export interface LedgerHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Operations inside a write transaction that holds the ledger head (SQLite: BEGIN IMMEDIATE;
 * PostgreSQL: the head row locked FOR UPDATE), so appends from any number of processes form
 * one chain.
 */
export interface LedgerWriter {
  readonly head: LedgerHead;
  /**
   * True when a lookup is a round trip to a server (PostgreSQL): the appender then remembers
   * the raters of the comparisons it creates rather than asking for their judgments. An
   * embedded store's index probe costs less than the remembering (SQLite: false).
   */
  readonly remote: boolean;
  findComparisons(ids: readonly string[]): Promise<Map<string, ComparisonRow>>;
  /** Stored choices of the (comparison, rater) pairs that already have a judgment, by `pairKey`. */
  findExistingPairs(pairs: readonly (readonly [string, string])[]): Promise<Map<string, Choice>>;
  /**
   * The comparisons among `ids` that are ordinary tasks of a project, by id, with the project's
   * id. Such a comparison cannot be given a gold answer: raters may already have been served it
   * as an ordinary task, and a gold answer would turn their judgments into gold answers and the
   * item into one served to every rater (what `addItems` refuses too).
   */
  findProjectTasks(ids: readonly string[]): Promise<Map<string, string>>;
  write(batch: WriteBatch): Promise<void>;
  setHead(head: LedgerHead): Promise<void>;
  upsertRaters(
    rows: readonly { rater_id: string; attributes: string; first_seen: string }[],
  ): Promise<void>;
}

export function pairKey(comparisonId: string, raterId: string): string {
  return `${comparisonId}\u0000${raterId}`;
}
