/**
 * The canonical encoding of a ledger record, the bytes the judgment ledger's hash chain covers
 * (store/ledger.ts). Pure, so that a parsing thread can encode the judgment's part of it ahead
 * of the store's writer.
 */
import type { Choice, ShownOrder } from "./types.js";

export const LEDGER_RECORD_VERSION = 1;

/** Everything the hash covers. */
export interface LedgerRecord {
  readonly seq: number;
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly choice: Choice;
  readonly prompt: string;
  readonly response_a: string;
  readonly response_b: string;
  readonly created_at: string | null;
  readonly latency_ms: number | null;
  readonly shown_order: ShownOrder | null;
  readonly rationale: string | null;
  readonly flags: readonly string[] | null;
  readonly recorded_at: string;
}

const q = JSON.stringify;

/** What the judgment itself says: the fields of a record before `recorded_at` in key order. */
export type LedgerPrefixFields = Pick<
  LedgerRecord,
  | "choice"
  | "comparison_id"
  | "created_at"
  | "flags"
  | "latency_ms"
  | "prompt"
  | "rater_id"
  | "rationale"
>;

/**
 * The canonical encoding: keys in sorted order, nulls omitted — byte-identical to
 * `canonicalJson` of the same object (a property test holds the two together). Written out by
 * hand because it runs once per imported judgment, and in two parts: the prefix depends only on
 * the judgment (so a parsing thread can encode it ahead of the writer), the suffix on where and
 * when the ledger records it.
 */
export function encodeLedgerRecord(r: LedgerRecord): string {
  return (
    encodeLedgerPrefix(r) +
    encodeLedgerSuffix(
      recordedAtPart(r.recorded_at),
      r.response_a,
      r.response_b,
      r.seq,
      r.shown_order,
    )
  );
}

/** `{"choice":…` up to and including `rationale`: everything sorted before `recorded_at`. */
export function encodeLedgerPrefix(r: LedgerPrefixFields): string {
  let s = `{"choice":${q(r.choice)},"comparison_id":${q(r.comparison_id)}`;
  if (r.created_at !== null) s += `,"created_at":${q(r.created_at)}`;
  if (r.flags !== null) s += `,"flags":[${r.flags.map((f) => q(f)).join(",")}]`;
  if (r.latency_ms !== null) s += `,"latency_ms":${q(r.latency_ms)}`;
  s += `,"prompt":${q(r.prompt)},"rater_id":${q(r.rater_id)}`;
  if (r.rationale !== null) s += `,"rationale":${q(r.rationale)}`;
  return s;
}

/** The `recorded_at` member, shared by every record of one append. */
export function recordedAtPart(recordedAt: string): string {
  return `,"recorded_at":${q(recordedAt)}`;
}

/** From `recorded_at` (given as `recordedAtPart(…)`) to the end. */
export function encodeLedgerSuffix(
  recordedAt: string,
  responseA: string,
  responseB: string,
  seq: number,
  shownOrder: ShownOrder | null,
): string {
  const shown = shownOrder === null ? "" : `,"shown_order":${q(shownOrder)}`;
  return `${recordedAt},"response_a":${q(responseA)},"response_b":${q(responseB)},"seq":${seq}${shown},"v":${LEDGER_RECORD_VERSION}}`;
}
