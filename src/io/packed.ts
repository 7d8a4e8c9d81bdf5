/**
 * Columnar batches of parsed judgments, for handing work between threads. Structured-cloning
 * thousands of small objects costs several microseconds each; a handful of arrays of strings
 * and numbers costs a fraction of one. A packed batch carries each judgment's fields as columns,
 * its texts as digests, the bodies of texts not sent before, and the rejected lines.
 */
import { contentDigest, storedText } from "../core/digest.js";
import { KeelError, keelErrorData } from "../core/errors.js";
import { encodeLedgerPrefix } from "../core/ledger-record.js";
import type { Choice, Content, Judgment, JudgmentColumns, Parsed } from "../core/types.js";

const choiceCode = (c: Choice): number => (c === "a" ? 0 : c === "b" ? 1 : 2);

/** A packed batch: the judgment columns the store's columnar append takes (core/types.ts). */
export type PackedBatch = JudgmentColumns;

/** Remembers which texts were already sent (bounded: forgetting only means resending). */
export class SentTexts {
  private seen = new Set<string>();
  constructor(private readonly limit = 50_000) {}
  /** True the first time a digest is offered (until forgotten). */
  offer(digest: string): boolean {
    if (this.seen.has(digest)) return false;
    if (this.seen.size >= this.limit) this.seen = new Set();
    this.seen.add(digest);
    return true;
  }
}

/** Digest cache by text (strings only; chat content is rare and digested each time). */
export class DigestCache {
  private map = new Map<string, string>();
  constructor(private readonly limit = 20_000) {}
  digest(c: Content): string {
    if (typeof c !== "string" || c.length > 4096) return contentDigest(c);
    let d = this.map.get(c);
    if (d === undefined) {
      d = contentDigest(c);
      if (this.map.size >= this.limit) this.map = new Map();
      this.map.set(c, d);
    }
    return d;
  }
}

export function packBatch(
  batch: readonly Parsed<Judgment>[],
  sent: SentTexts,
  cache: DigestCache,
): PackedBatch {
  const ok = batch.filter((p): p is Extract<Parsed<Judgment>, { ok: true }> => p.ok);
  const n = ok.length;
  const out = {
    n,
    line: new Int32Array(n),
    comparison_id: new Array<string>(n),
    rater_id: new Array<string>(n),
    choice: new Uint8Array(n),
    gold: new Uint8Array(n),
    created_at: new Array<string>(n),
    latency_ms: new Float64Array(n),
    digests: new Array<string>(3 * n),
    extras: new Array<string>(n),
    pre: new Array<string>(n),
    texts: { digest: [] as string[], body: [] as string[], is_chat: [] as number[] },
    rejected: [] as PackedBatch["rejected"][number][],
    ignored: undefined as Record<string, number> | undefined,
  };
  const addText = (c: Content): string => {
    const d = cache.digest(c);
    if (sent.offer(d)) {
      const t = storedText(c, d);
      out.texts.digest.push(d);
      out.texts.body.push(t.body);
      out.texts.is_chat.push(t.is_chat);
    }
    return d;
  };
  for (let i = 0; i < n; i++) {
    const { line, record: j, ignored } = ok[i]!;
    if (ignored) {
      out.ignored ??= {};
      for (const f of ignored) out.ignored[f] = (out.ignored[f] ?? 0) + 1;
    }
    out.line[i] = line;
    out.comparison_id[i] = j.comparison_id;
    out.rater_id[i] = j.rater_id;
    out.choice[i] = choiceCode(j.choice);
    out.gold[i] = j.gold === undefined ? 0 : 1 + choiceCode(j.gold);
    out.created_at[i] = j.created_at ?? "";
    out.latency_ms[i] = j.latency_ms ?? Number.NaN;
    const prompt = addText(j.prompt);
    out.digests[3 * i] = prompt;
    out.digests[3 * i + 1] = addText(j.response_a);
    out.digests[3 * i + 2] = addText(j.response_b);
    out.extras[i] =
      j.shown_order === undefined && j.rationale === undefined && j.flags === undefined
        ? ""
        : JSON.stringify({ shown_order: j.shown_order, rationale: j.rationale, flags: j.flags });
    out.pre[i] = encodeLedgerPrefix({
      choice: j.choice,
      comparison_id: j.comparison_id,
      created_at: j.created_at ?? null,
      flags: j.flags ?? null,
      latency_ms: j.latency_ms ?? null,
      prompt,
      rater_id: j.rater_id,
      rationale: j.rationale ?? null,
    });
  }
  for (const p of batch) {
    if (!p.ok) {
      const e =
        p.error instanceof KeelError
          ? p.error
          : new KeelError("KEEL_E_INVALID_RECORD", p.error.message);
      out.rejected.push({ line: p.line, raw: p.raw, error: keelErrorData(e) });
    }
  }
  const { ignored, ...rest } = out;
  return {
    ...rest,
    texts: { ...out.texts, is_chat: Uint8Array.from(out.texts.is_chat) },
    ...(ignored ? { ignored } : {}),
  };
}
