/**
 * What one `append` call of the ledger appender accumulates, in ledger order (texts, new
 * comparisons, gold answers, raters, numbered and chained rows, duplicates and refusals), what
 * it returns, the parts of a judgment that only its ledger row keeps, and the refusals of
 * values the ledger's hash could not cover exactly.
 */
import { KeelError, type Where } from "../core/errors.js";
import { recordedAtPart } from "../core/ledger-record.js";
import { isWellFormed, NOT_WELL_FORMED } from "../core/schemas.js";
import type {
  Choice,
  Content,
  DigestedJudgment,
  Judgment,
  JudgmentColumns,
  ShownOrder,
} from "../core/types.js";
import type { CachedComparison } from "./append-cache.js";
import type { ComparisonRow, JudgmentRow, LedgerHead, TextRow } from "./writer.js";

export interface Duplicate {
  readonly where: Where;
  readonly comparison_id: string;
  readonly rater_id: string;
  /** True when the duplicate's choice differs from the stored one. */
  readonly conflicting: boolean;
}

export interface BatchResult {
  readonly appended: number;
  readonly newComparisons: number;
  readonly duplicates: Duplicate[];
  /** Inputs refused (conflicts, unknown comparisons) when the caller asked to skip them. */
  readonly rejected: { where: Where; error: KeelError }[];
  /** The rows appended, in ledger order (with seq and hash). */
  readonly rows: JudgmentRow[];
}

/** What one `append` call accumulates, in ledger order. */
export class Batch {
  readonly texts: TextRow[] = [];
  readonly newComparisons: ComparisonRow[] = [];
  readonly gold: { comparison_id: string; gold: Choice }[] = [];
  readonly raters: { rater_id: string; first_seen: string }[] = [];
  readonly rows: JudgmentRow[] = [];
  readonly duplicates: Duplicate[] = [];
  readonly rejected: { where: Where; error: KeelError }[] = [];
  /**
   * Every comparison this batch names, as loaded or created: the bounded cache may forget one
   * in the middle of a batch that brings many new comparisons.
   */
  readonly local = new Map<string, CachedComparison>();
  /** This batch's choices, by `pairKey`. */
  readonly choices = new Map<string, Choice>();
  /**
   * Stored comparisons without gold that inputs of this batch give a gold answer and that are
   * ordinary tasks of a project: comparison id → project id (such gold is refused).
   */
  readonly projectTasks = new Map<string, string>();
  /** The store's judgments of this batch's pairs, by `pairKey`. */
  readonly existing = new Map<string, Choice>();
  readonly recordedAtPart: string;
  seq: number;
  hash: string;

  constructor(
    head: LedgerHead,
    readonly recordedAt: string,
  ) {
    this.seq = head.seq;
    this.hash = head.hash;
    this.recordedAtPart = recordedAtPart(recordedAt);
  }

  result(): BatchResult {
    return {
      appended: this.rows.length,
      newComparisons: this.newComparisons.length,
      duplicates: this.duplicates,
      rejected: this.rejected,
      rows: this.rows,
    };
  }
}

/** The parts of a judgment that only the ledger row keeps (none for a reference). */
export interface RowExtras {
  readonly created_at: string | null;
  readonly latency_ms: number | null;
  readonly shown_order: ShownOrder | null;
  readonly rationale: string | null;
  readonly flags: readonly string[] | null;
}

export const NO_EXTRAS: RowExtras = {
  created_at: null,
  latency_ms: null,
  shown_order: null,
  rationale: null,
  flags: null,
};

export function extrasOf(j: Judgment | DigestedJudgment): RowExtras {
  return {
    created_at: j.created_at ?? null,
    latency_ms: j.latency_ms ?? null,
    shown_order: j.shown_order ?? null,
    rationale: j.rationale ?? null,
    flags: j.flags ?? null,
  };
}

/** Row `i`'s extras, from a parsing thread's columns. */
export function columnExtras(c: JudgmentColumns, i: number): RowExtras {
  const x = c.extras[i] ? (JSON.parse(c.extras[i]!) as Partial<RowExtras>) : undefined;
  const created = c.created_at[i]!;
  const latency = c.latency_ms[i]!;
  return {
    created_at: created === "" ? null : created,
    latency_ms: Number.isNaN(latency) ? null : latency,
    shown_order: x?.shown_order ?? null,
    rationale: x?.rationale ?? null,
    flags: x?.flags ?? null,
  };
}

/** The refusal of a first gold answer for a comparison that is an ordinary task of `project`. */
export function goldForTaskError(id: string, project: string, where: Where): KeelError {
  return new KeelError(
    "KEEL_E_CONFLICT",
    `comparison ${JSON.stringify(id)} is an ordinary task of project ${JSON.stringify(project)}; it cannot become gold`,
    {
      where: { ...where, field: "gold" },
      hint: "give gold answers for an audit with keel audit --gold, or add gold items to a project as new comparisons",
    },
  );
}

/**
 * Refuses what the ledger could not store and give back exactly, so that the hash computed now
 * is the one `ledger verify` recomputes from the database: a latency that is NaN or ±Infinity
 * (JSON hashes it as `null`, SQLite stores NaN as NULL, and an export writes ±Infinity as
 * `null` that no import reads back), a string holding a lone UTF-16 surrogate (both
 * dialects store text as UTF-8, which keeps U+FFFD in its place), and a NUL character (refused
 * by PostgreSQL as a store error, kept by SQLite). The import formats and the
 * rater API refuse these before they get here; this holds for every other caller.
 */
export function checkStorable(
  comparisonId: string,
  raterId: string,
  x: RowExtras,
  where: Where | (() => Where),
): void {
  // The common case without allocating (an import passes here a million times).
  if (
    (x.latency_ms === null || Number.isFinite(x.latency_ms)) &&
    storable(comparisonId) &&
    storable(raterId) &&
    (x.created_at === null || storable(x.created_at)) &&
    (x.rationale === null || storable(x.rationale)) &&
    (x.flags === null || x.flags.every(storable))
  )
    return;
  const bad = (field: string, detail: string): KeelError =>
    new KeelError("KEEL_E_INVALID_RECORD", detail, {
      where: { ...(typeof where === "function" ? where() : where), field },
    });
  if (x.latency_ms !== null && !Number.isFinite(x.latency_ms))
    throw bad(
      "latency_ms",
      `must be a finite number, not ${String(x.latency_ms)}: the ledger cannot store and hash it exactly`,
    );
  const check = (field: string, v: string | null) => {
    const why = v === null ? undefined : unstorable(v);
    if (why !== undefined) throw bad(field, why);
  };
  check("comparison_id", comparisonId);
  check("rater_id", raterId);
  check("created_at", x.created_at);
  check("rationale", x.rationale);
  for (const f of x.flags ?? []) check("flags", f);
}

/**
 * Why `s` cannot be stored as it is, or undefined: a lone surrogate (stored as U+FFFD), or a NUL
 * character (PostgreSQL's text cannot hold it, SQLite's can: a store must not depend on which).
 */
function unstorable(s: string): string | undefined {
  if (!isWellFormed(s)) return NOT_WELL_FORMED;
  if (s.includes("\u0000")) return "must not contain NUL characters";
  return undefined;
}

const storable = (s: string) => isWellFormed(s) && !s.includes("\u0000");

/** The same refusal for a text about to be stored (a chat list's JSON escapes both). */
export function checkStorableText(content: Content, field: string, where: () => Where): void {
  const why = typeof content === "string" ? unstorable(content) : undefined;
  if (why !== undefined)
    throw new KeelError("KEEL_E_INVALID_RECORD", why, { where: { ...where(), field } });
}

/**
 * Sequence numbers are JavaScript numbers in the hash (and better-sqlite3 and keel's PostgreSQL
 * reader return them as such): past 2^53 − 1 the next one would equal the last, or be hashed as
 * another number than the one stored.
 */
export function seqOverflow(last: number): KeelError {
  return new KeelError(
    "KEEL_E_STORE",
    `the ledger cannot number a judgment after row ${last}: sequence numbers past ${Number.MAX_SAFE_INTEGER} (2^53 − 1) cannot be hashed exactly`,
    {
      hint: "run `keel ledger verify`: a recorded head this high was most likely written outside keel",
    },
  );
}
