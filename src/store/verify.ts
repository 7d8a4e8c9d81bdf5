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

/** What is wrong with a stored text, if anything: "is no longer valid JSON", "does not match its digest". */
export function textProblem(digest: string, body: string, isChat: number): string | undefined {
  let content: Content = body;
  if (isChat === 1) {
    try {
      content = JSON.parse(body) as Content;
    } catch {
      return "is no longer valid JSON";
    }
  }
  return contentDigest(content) === digest ? undefined : "does not match its digest";
}

export type TextField = "prompt" | "response_a" | "response_b";

const TEXT_FIELD_NAMES: Record<TextField, string> = {
  prompt: "prompt",
  response_a: "response A",
  response_b: "response B",
};

/**
 * An edited text, placed at the first judgment that refers to it (`use`: that row, and the
 * text's place in its comparison): the first row the edit falsifies, since its hash covers the
 * text's digest, not its body. Without `use`, no judgment refers to the text.
 */
export function textEdited(
  digest: string,
  problem: string,
  use?: { readonly seq: number; readonly comparison_id: string; readonly field: TextField },
): LedgerBreak {
  const text = `text ${digest.slice(0, 12)}…`;
  if (use === undefined) {
    return {
      kind: "text-edited",
      seq: 0,
      message: `${text} ${problem} (edited); no judgment refers to it`,
    };
  }
  return {
    kind: "text-edited",
    seq: use.seq,
    message: `row ${use.seq} (comparison ${JSON.stringify(use.comparison_id)}): its ${
      TEXT_FIELD_NAMES[use.field]
    } (${text}) ${problem} (edited)`,
  };
}

/**
 * The chain (walked to row `seq`, ending in `hash`) against the recorded head. `hashAtRecorded`
 * is the chain's hash at the recorded head's row, when the chain reaches it.
 */
export function checkHead(
  seq: number,
  hash: string,
  recorded: { readonly seq: number; readonly hash: string },
  hashAtRecorded: string | undefined,
): LedgerBreak | undefined {
  if (recorded.seq === seq && recorded.hash === hash) return undefined;
  const head = `the recorded head (row ${recorded.seq}, hash ${recorded.hash.slice(0, 12)}…)`;
  if (recorded.seq === seq) {
    return {
      kind: "head-mismatch",
      seq,
      message: `${head} is not row ${seq}'s hash ${hash.slice(0, 12)}…: the head was rewritten, or row ${seq} was replaced`,
    };
  }
  if (recorded.seq > seq) {
    return {
      kind: "head-mismatch",
      seq: seq + 1,
      message: `${head} is past the chain's end at row ${seq}: rows ${seq + 1}..${recorded.seq} were removed from the end, or the head was rewritten`,
    };
  }
  return {
    kind: "head-mismatch",
    seq: recorded.seq + 1,
    message:
      hashAtRecorded === recorded.hash
        ? `the chain runs to row ${seq} but the recorded head is row ${recorded.seq}: rows ${recorded.seq + 1}..${seq} were appended outside keel`
        : recorded.hash === hash
          ? `${head} carries the hash of row ${seq}, the chain's end: the head's sequence number was rewritten`
          : `${head} is not in the chain, which runs to row ${seq}: the head was rewritten`,
  };
}

export { GENESIS_HASH };
