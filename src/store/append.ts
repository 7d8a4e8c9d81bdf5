/**
 * Appending judgments to the ledger in batches. For each input, in order: resolve its
 * comparison (stored, earlier in the batch, or new), reject conflicting texts or gold answers,
 * report duplicate (comparison, rater) pairs instead of doubling them, then number and chain
 * the new rows. Pure bookkeeping over a `LedgerWriter`; the dialect does the SQL.
 */
import { contentDigest } from "../core/digest.js";
import { KeelError, type Where } from "../core/errors.js";
import type {
  Choice,
  Content,
  DigestedJudgment,
  Judgment,
  JudgmentRef,
  StoredText,
} from "../core/types.js";
import { chainHash, type LedgerRecord } from "./ledger.js";
import {
  type ComparisonRow,
  type JudgmentRow,
  type LedgerHead,
  type LedgerWriter,
  pairKey,
  type TextRow,
} from "./writer.js";

/** A judgment with its texts, with its texts' digests (texts sent separately), or by reference. */
export type JudgmentInput = Judgment | DigestedJudgment | JudgmentRef;

export interface AppendItem {
  readonly input: JudgmentInput;
  /** Where the input came from, for error messages (file and line, or a request id). */
  readonly where: Where;
}

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

function isFull(input: JudgmentInput): input is Judgment {
  return "prompt" in input;
}

function isDigested(input: JudgmentInput): input is DigestedJudgment {
  return "digests" in input;
}

/** The optional fields a full or digested judgment carries (a reference carries none). */
type Extras = Pick<Judgment, "created_at" | "latency_ms" | "shown_order" | "rationale" | "flags">;

/** A small insertion-ordered cache that forgets its oldest half when full. */
class BoundedMap<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  set(k: K, v: V): void {
    if (this.map.size >= this.limit) {
      let drop = this.map.size >> 1;
      for (const key of this.map.keys()) {
        if (drop-- <= 0) break;
        this.map.delete(key);
      }
    }
    this.map.set(k, v);
  }
}

/**
 * A comparison as cached: its row, and (for plain-text contents) the texts themselves, so that
 * the usual case — the next rater's judgment of a comparison seen a moment ago — is checked
 * with three string comparisons instead of three SHA-256 digests.
 */
interface CachedComparison {
  row: ComparisonRow;
  texts?: readonly [Content, Content, Content];
}

export class LedgerAppender {
  private head: LedgerHead;
  private readonly comparisons = new BoundedMap<string, CachedComparison>(20_000);
  private readonly knownTexts = new BoundedMap<string, true>(50_000);
  private readonly knownRaters = new BoundedMap<string, true>(50_000);
  private readonly digestOf = new BoundedMap<string, string>(8_000);

  constructor(
    private readonly writer: LedgerWriter,
    private readonly now: () => Date,
  ) {
    this.head = writer.head;
  }

  get currentHead(): LedgerHead {
    return this.head;
  }

  private digest(content: Content, texts: TextRow[]): string {
    let d: string | undefined;
    if (typeof content === "string") {
      d = content.length <= 4096 ? this.digestOf.get(content) : undefined;
      if (d === undefined) {
        d = contentDigest(content);
        if (content.length <= 4096) this.digestOf.set(content, d);
      }
    } else {
      d = contentDigest(content);
    }
    if (this.knownTexts.get(d) === undefined) {
      this.knownTexts.set(d, true);
      texts.push({
        digest: d,
        body: typeof content === "string" ? content : JSON.stringify(content),
        is_chat: typeof content === "string" ? 0 : 1,
      });
    }
    return d;
  }

  /**
   * Appends one batch. With `skipInvalid`, conflicting inputs are returned in `rejected`;
   * otherwise the first one throws (and the caller's transaction rolls back).
   */
  async append(
    items: readonly AppendItem[],
    skipInvalid: boolean,
    sentTexts: readonly StoredText[] = [],
  ): Promise<BatchResult> {
    const missing = new Set<string>();
    for (const { input } of items) {
      if (this.comparisons.get(input.comparison_id) === undefined) missing.add(input.comparison_id);
    }
    if (missing.size > 0) {
      for (const [id, row] of await this.writer.findComparisons([...missing])) {
        this.comparisons.set(id, { row });
      }
    }
    const existingPairs = await this.writer.findExistingPairs(
      items.map(({ input }) => [input.comparison_id, input.rater_id] as const),
    );

    const recordedAt = this.now().toISOString();
    const texts: TextRow[] = [];
    for (const t of sentTexts) {
      if (this.knownTexts.get(t.digest) === undefined) {
        this.knownTexts.set(t.digest, true);
        texts.push(t);
      }
    }
    const newComparisons: ComparisonRow[] = [];
    const gold: { comparison_id: string; gold: Choice }[] = [];
    const raters: { rater_id: string; first_seen: string }[] = [];
    const rows: JudgmentRow[] = [];
    const duplicates: Duplicate[] = [];
    const rejected: { where: Where; error: KeelError }[] = [];
    const choices = new Map<string, Choice>();
    let { seq, hash } = this.head;

    for (const { input, where } of items) {
      let cmp: ComparisonRow;
      try {
        cmp = this.resolveComparison(input, where, texts, newComparisons, gold);
      } catch (e) {
        if (!(e instanceof KeelError) || !skipInvalid) throw e;
        rejected.push({ where, error: e });
        continue;
      }
      const key = pairKey(input.comparison_id, input.rater_id);
      const prior = existingPairs.get(key) ?? choices.get(key);
      if (prior !== undefined) {
        duplicates.push({
          where,
          comparison_id: input.comparison_id,
          rater_id: input.rater_id,
          conflicting: prior !== input.choice,
        });
        continue;
      }
      choices.set(key, input.choice);
      if (this.knownRaters.get(input.rater_id) === undefined) {
        this.knownRaters.set(input.rater_id, true);
        raters.push({ rater_id: input.rater_id, first_seen: recordedAt });
      }
      const full: Extras | undefined = isFull(input) || isDigested(input) ? input : undefined;
      const record: LedgerRecord = {
        seq: seq + 1,
        comparison_id: input.comparison_id,
        rater_id: input.rater_id,
        choice: input.choice,
        prompt: cmp.prompt_digest,
        response_a: cmp.a_digest,
        response_b: cmp.b_digest,
        created_at: full?.created_at ?? null,
        latency_ms: full?.latency_ms ?? null,
        shown_order: full?.shown_order ?? null,
        rationale: full?.rationale ?? null,
        flags: full?.flags ?? null,
        recorded_at: recordedAt,
      };
      const next = chainHash(hash, record);
      rows.push({
        seq: record.seq,
        comparison_id: record.comparison_id,
        rater_id: record.rater_id,
        choice: record.choice,
        created_at: record.created_at,
        latency_ms: record.latency_ms,
        shown_order: record.shown_order,
        rationale: record.rationale,
        flags: record.flags === null ? null : JSON.stringify(record.flags),
        recorded_at: recordedAt,
        prev_hash: hash,
        hash: next,
      });
      seq = record.seq;
      hash = next;
    }

    await this.writer.write({ texts, comparisons: newComparisons, gold, raters, judgments: rows });
    this.head = { seq, hash };
    return {
      appended: rows.length,
      newComparisons: newComparisons.length,
      duplicates,
      rejected,
      rows,
    };
  }

  /** Finishes: records the new head in the same transaction. */
  async finish(): Promise<LedgerHead> {
    if (this.head.seq !== this.writer.head.seq) await this.writer.setHead(this.head);
    return this.head;
  }

  private resolveComparison(
    input: JudgmentInput,
    where: Where,
    texts: TextRow[],
    newComparisons: ComparisonRow[],
    gold: { comparison_id: string; gold: Choice }[],
  ): ComparisonRow {
    const id = input.comparison_id;
    const cached = this.comparisons.get(id);
    if (!isFull(input) && !isDigested(input)) {
      if (cached === undefined) {
        throw new KeelError(
          "KEEL_E_NOT_FOUND",
          `comparison ${JSON.stringify(id)} is not in the store`,
          {
            where: { ...where, field: "task" },
            hint: "import the comparison's texts first (keel judgments, TRL or HH-RLHF format)",
          },
        );
      }
      return cached.row;
    }
    let known = cached?.row;
    let digests: readonly [string, string, string] | undefined;
    let contents: readonly [Content, Content, Content] | undefined;
    if (isDigested(input)) digests = input.digests;
    else {
      contents = [input.prompt, input.response_a, input.response_b];
      if (cached?.texts !== undefined && sameTexts(cached.texts, contents)) digests = undefined;
      else
        digests = [
          this.digest(contents[0], texts),
          this.digest(contents[1], texts),
          this.digest(contents[2], texts),
        ];
    }
    if (digests !== undefined) {
      const [pd, ad, bd] = digests;
      if (known === undefined) {
        known = {
          comparison_id: id,
          prompt_digest: pd,
          a_digest: ad,
          b_digest: bd,
          gold: input.gold ?? null,
        };
        this.comparisons.set(id, contents ? { row: known, texts: contents } : { row: known });
        newComparisons.push(known);
        return known;
      }
      const field =
        known.prompt_digest !== pd
          ? "prompt"
          : known.a_digest !== ad
            ? "response_a"
            : known.b_digest !== bd
              ? "response_b"
              : undefined;
      if (field !== undefined) {
        throw new KeelError(
          "KEEL_E_CONFLICT",
          `differs from the stored comparison ${JSON.stringify(id)}: one comparison id must always name the same prompt and responses`,
          { where: { ...where, field } },
        );
      }
      if (contents) this.comparisons.set(id, { row: known, texts: contents });
    }
    const row = known!;
    if (input.gold !== undefined && row.gold !== input.gold) {
      if (row.gold !== null) {
        throw new KeelError(
          "KEEL_E_CONFLICT",
          `gold ${JSON.stringify(input.gold)} contradicts the stored gold ${JSON.stringify(row.gold)} of comparison ${JSON.stringify(id)}`,
          { where: { ...where, field: "gold" } },
        );
      }
      const updated = { ...row, gold: input.gold };
      this.comparisons.set(id, contents ? { row: updated, texts: contents } : { row: updated });
      gold.push({ comparison_id: id, gold: input.gold });
      return updated;
    }
    return row;
  }
}

/** True when the judgment names exactly the cached texts (plain strings; chat lists compare by digest). */
function sameTexts(
  cached: readonly [Content, Content, Content],
  c: readonly [Content, Content, Content],
): boolean {
  return (
    typeof c[0] === "string" &&
    typeof c[1] === "string" &&
    typeof c[2] === "string" &&
    cached[0] === c[0] &&
    cached[1] === c[1] &&
    cached[2] === c[2]
  );
}
