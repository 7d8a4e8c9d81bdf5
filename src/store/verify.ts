/**
 * `keel ledger verify`: walks the chain in sequence order and names the first broken link.
 *
 * - edited: a row's content no longer matches its own hash;
 * - moved: the row's content matches its hash only under another sequence number (rows were
 *   inserted or deleted and the rest renumbered, or rows were reordered);
 * - missing: a sequence number is absent (a row was deleted);
 * - unlinked: the row's `prev_hash` is not the previous row's hash (a row before it was
 *   replaced, or rows were inserted or reordered and re-hashed);
 * - text-edited: a stored prompt or response no longer matches its digest;
 * - text-missing: a text a judgment's comparison points at was deleted (exports, which join the
 *   texts, would silently drop the judgment);
 * - head-mismatch: the chain's end disagrees with the recorded head (rows appended or removed at
 *   the end, outside keel), or the chain does not pass through the expected (anchored) head.
 */
import { contentDigest } from "../core/digest.js";
import type { Content } from "../core/types.js";
import { chainHash, GENESIS_HASH, type LedgerRecord } from "./ledger.js";

export type BreakKind =
  | "edited"
  | "moved"
  | "missing"
  | "unlinked"
  | "text-edited"
  | "text-missing"
  | "head-mismatch";

export interface LedgerBreak {
  readonly kind: BreakKind;
  /** Sequence number of the first row affected (0 for text and head problems before any row). */
  readonly seq: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly rows: number;
  readonly texts: number;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly recordedHead: { readonly seq: number; readonly hash: string };
  /** With an expected head: the row whose hash it is (0 for an empty ledger's). */
  readonly anchoredAt?: number;
  readonly firstBreak?: LedgerBreak;
}

/** A stored judgment row with the digests its comparison points at. */
export interface StoredLedgerRow extends Omit<LedgerRecord, "flags"> {
  readonly flags: string | null;
  readonly prev_hash: string;
  readonly hash: string;
}

function recordOf(r: StoredLedgerRow, seq: number): LedgerRecord {
  let flags: string[] | null = null;
  if (r.flags !== null) {
    try {
      flags = JSON.parse(r.flags) as string[];
    } catch {
      flags = [`<unparseable flags ${r.flags}>`];
    }
  }
  return { ...r, seq, flags };
}

/** Checks one row against the running chain state; returns the break or the new hash. */
export function checkRow(
  r: StoredLedgerRow,
  expectedSeq: number,
  prevHash: string,
): { break: LedgerBreak } | { hash: string } {
  if (r.seq !== expectedSeq) {
    return {
      break: {
        kind: "missing",
        seq: expectedSeq,
        message:
          r.seq === expectedSeq + 1
            ? `row ${expectedSeq} is missing (deleted)`
            : `rows ${expectedSeq}..${r.seq - 1} are missing (deleted)`,
      },
    };
  }
  if (chainHash(r.prev_hash, recordOf(r, r.seq)) !== r.hash) {
    for (const delta of [-1, 1, -2, 2]) {
      if (r.seq + delta >= 1 && chainHash(r.prev_hash, recordOf(r, r.seq + delta)) === r.hash) {
        return {
          break: {
            kind: "moved",
            seq: r.seq,
            message: `row ${r.seq} was written as row ${r.seq + delta}: rows were ${
              delta < 0 ? "inserted before it" : "deleted before it"
            } or reordered, and renumbered`,
          },
        };
      }
    }
    return {
      break: {
        kind: "edited",
        seq: r.seq,
        message: `row ${r.seq} (comparison ${JSON.stringify(r.comparison_id)}, rater ${JSON.stringify(r.rater_id)}) does not match its hash: its contents or its comparison's texts were changed`,
      },
    };
  }
  if (r.prev_hash !== prevHash) {
    return {
      break: {
        kind: "unlinked",
        seq: r.seq,
        message: `row ${r.seq} does not follow row ${r.seq - 1}: its prev_hash is not row ${r.seq - 1}'s hash (a row was inserted, replaced or reordered before it)`,
      },
    };
  }
  return { hash: r.hash };
}

/** Checks that the three texts a row's comparison points at are stored (`found`: the join's digests). */
export function checkTextsPresent(
  r: StoredLedgerRow,
  found: readonly (string | null)[],
): LedgerBreak | undefined {
  const i = found.indexOf(null);
  if (i < 0) return undefined;
  const digest = [r.prompt, r.response_a, r.response_b][i]!;
  return {
    kind: "text-missing",
    seq: r.seq,
    message: `row ${r.seq} (comparison ${JSON.stringify(r.comparison_id)}): its ${
      ["prompt", "response A", "response B"][i]
    } (text ${digest.slice(0, 12)}…) is missing from the store (deleted)`,
  };
}

/** Checks a stored text against its digest. */
export function checkText(digest: string, body: string, isChat: number): LedgerBreak | undefined {
  let content: Content = body;
  if (isChat === 1) {
    try {
      content = JSON.parse(body) as Content;
    } catch {
      return {
        kind: "text-edited",
        seq: 0,
        message: `text ${digest.slice(0, 12)}… is no longer valid JSON (edited)`,
      };
    }
  }
  return contentDigest(content) === digest
    ? undefined
    : {
        kind: "text-edited",
        seq: 0,
        message: `text ${digest.slice(0, 12)}… does not match its digest (edited)`,
      };
}

export { GENESIS_HASH };
