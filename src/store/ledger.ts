/**
 * The judgment ledger's hash chain. Row n carries `prev_hash` (row n−1's hash, or 64 zeros for
 * the first row) and `hash = SHA-256(prev_hash ‖ canonical(record))`, where the record holds the
 * judgment, its sequence number, when keel recorded it, and the digests of the prompt and both
 * responses. Editing, deleting, inserting or reordering rows, or editing a stored text, breaks
 * the chain at the first place touched. (A chain can be rewritten wholesale from the first
 * tampered row onward; anchoring the head hash outside the database — `keel ledger head` —
 * closes that gap.) Gold answers and rater attributes are not part of the chain.
 */
import { sha256Hex } from "../core/digest.js";
import type { Choice, ShownOrder } from "../core/types.js";

export const GENESIS_HASH = "0".repeat(64);
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

/**
 * The canonical encoding: keys in sorted order, nulls omitted — byte-identical to
 * `canonicalJson` of the same object (a property test holds the two together). Written out by
 * hand because it runs once per imported judgment.
 */
export function encodeLedgerRecord(r: LedgerRecord): string {
  let s = `{"choice":${q(r.choice)},"comparison_id":${q(r.comparison_id)}`;
  if (r.created_at !== null) s += `,"created_at":${q(r.created_at)}`;
  if (r.flags !== null) s += `,"flags":[${r.flags.map((f) => q(f)).join(",")}]`;
  if (r.latency_ms !== null) s += `,"latency_ms":${q(r.latency_ms)}`;
  s += `,"prompt":${q(r.prompt)},"rater_id":${q(r.rater_id)}`;
  if (r.rationale !== null) s += `,"rationale":${q(r.rationale)}`;
  s += `,"recorded_at":${q(r.recorded_at)},"response_a":${q(r.response_a)},"response_b":${q(r.response_b)}`;
  s += `,"seq":${r.seq}`;
  if (r.shown_order !== null) s += `,"shown_order":${q(r.shown_order)}`;
  s += `,"v":${LEDGER_RECORD_VERSION}}`;
  return s;
}

export function chainHash(prevHash: string, record: LedgerRecord): string {
  return sha256Hex(prevHash + encodeLedgerRecord(record));
}
