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
import { encodeLedgerRecord, type LedgerRecord } from "../core/ledger-record.js";

export const GENESIS_HASH = "0".repeat(64);
export {
  encodeLedgerRecord,
  LEDGER_RECORD_VERSION,
  type LedgerRecord,
} from "../core/ledger-record.js";

export function chainHash(prevHash: string, record: LedgerRecord): string {
  return chainLink(prevHash, encodeLedgerRecord(record));
}

/** The next link of the chain from a record already encoded (core/ledger-record.ts). */
export function chainLink(prevHash: string, encodedRecord: string): string {
  return sha256Hex(prevHash + encodedRecord);
}
