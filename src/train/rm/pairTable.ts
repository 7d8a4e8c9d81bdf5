/**
 * Encoded preference pairs, packed for training sets of 10⁵–10⁶ pairs. Every distinct sequence
 * (prompt ++ response, cut to the row length by the codec's rule, as `encodePairs` gives it) is
 * stored once, its token ids in typed chunks of 2²⁰ ids — Uint16 while the vocabulary has at
 * most 65,536 ids, Int32 beyond — with its address, length and prompt length; a pair names its
 * chosen and rejected sequences by index and keeps weight, margin, cost signs and group in typed
 * columns.
 * A sequence that recurs (one comparison judged by several raters) is stored once. Trainers take
 * a batch at a time as `EncodedPair` rows (`pairs`, `slice`), so only B pairs are ever held as
 * number[], and the texts can be let go once encoded (`RawPairSets`).
 *
 * Why: as EncodedPair[] with number[] rows (8 bytes a token) next to the raw pairs and the
 * codec's memo of every text's full encoding, a pair of 30–120-word responses cost about 6 KB;
 * packed, about 0.5 KB (bench/train-memory.ts measures both on the same pairs).
 *
 * Example: pairs (p, a, b) and (p, b, a) store two sequences, p++a and p++b; the first pair is
 * (chosen 0, rejected 1), the second (chosen 1, rejected 0).
 */
import { KeelError } from "../../core/errors.js";
import { contentToText, type PreferencePair } from "../../core/types.js";
import { TextCodec } from "../common/codec.js";
import type { CostPair, EncodedPair } from "./pairs.js";

type Ids = Uint16Array | Int32Array;

/** Texts encoded with one scratch codec before another takes over: bounds its memo. */
const SCRATCH_TEXTS = 4096;

export class PairTable {
  readonly length: number;
  /** +1 unsafe, −1 safe (cost pairs only; 0 otherwise), per pair. */
  readonly chosenSign: Int8Array;
  readonly rejectedSign: Int8Array;

  private constructor(
    private readonly tokens: TokenChunks,
    private readonly seqStart: Float64Array,
    private readonly seqLength: Uint32Array,
    private readonly seqPrompt: Uint32Array,
    private readonly chosenSeq: Uint32Array,
    private readonly rejectedSeq: Uint32Array,
    private readonly weight: Float64Array,
    private readonly margin: Float64Array,
    signs: { chosen: Int8Array; rejected: Int8Array },
    private readonly groupId: Int32Array,
    private readonly groupNames: readonly string[],
  ) {
    this.length = chosenSeq.length;
    this.chosenSign = signs.chosen;
    this.rejectedSign = signs.rejected;
  }

  /** The pairs encoded as `encodePairs` encodes them (the codec's prompt/response/fit layout). */
  static encode(
    codec: TextCodec,
    pairs: readonly (PreferencePair | CostPair)[],
    seqLen: number,
    o: { cost: boolean },
  ): PairTable {
    const n = pairs.length;
    const b = new SeqBuilder(codec, seqLen, n);
    const chosenSeq = new Uint32Array(n);
    const rejectedSeq = new Uint32Array(n);
    const weight = new Float64Array(n);
    const margin = new Float64Array(n);
    const chosen = new Int8Array(n);
    const rejected = new Int8Array(n);
    const groupId = new Int32Array(n).fill(-1);
    const groupNames: string[] = [];
    const groupIndex = new Map<string, number>();
    pairs.forEach((p, i) => {
      const prompt = contentToText(p.prompt);
      chosenSeq[i] = b.seq(prompt, contentToText(p.chosen));
      rejectedSeq[i] = b.seq(prompt, contentToText(p.rejected));
      weight[i] = p.weight ?? 1;
      margin[i] = p.margin ?? 0;
      if (o.cost) {
        const cp = p as CostPair;
        chosen[i] = cp.chosen_safe ? -1 : 1;
        rejected[i] = cp.rejected_safe ? -1 : 1;
      }
      const g = (p as { group?: unknown }).group;
      if (typeof g === "string") {
        let id = groupIndex.get(g);
        if (id === undefined) {
          id = groupNames.push(g) - 1;
          groupIndex.set(g, id);
        }
        groupId[i] = id;
      }
    });
    const s = b.finish();
    return new PairTable(
      s.tokens,
      s.start,
      s.length,
      s.prompt,
      chosenSeq,
      rejectedSeq,
      weight,
      margin,
      { chosen, rejected },
      groupId,
      groupNames,
    );
  }

  /** Pair `i` as a row the trainers' batch code reads. */
  pair(i: number): EncodedPair {
    const c = this.chosenSeq[i]!;
    const r = this.rejectedSeq[i]!;
    const g = this.groupId[i]!;
    return {
      chosen: this.ids(c),
      rejected: this.ids(r),
      chosenPrompt: this.seqPrompt[c]!,
      rejectedPrompt: this.seqPrompt[r]!,
      weight: this.weight[i]!,
      margin: this.margin[i]!,
      chosenSign: this.chosenSign[i]!,
      rejectedSign: this.rejectedSign[i]!,
      ...(g >= 0 ? { group: this.groupNames[g]! } : {}),
    };
  }

  /** The pairs at `idx`, in that order. */
  pairs(idx: readonly number[]): EncodedPair[] {
    return idx.map((i) => this.pair(i));
  }

  /** Pairs [start, end), clamped to the table as Array.prototype.slice clamps. */
  slice(start = 0, end = this.length): EncodedPair[] {
    const out: EncodedPair[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.length); i++) out.push(this.pair(i));
    return out;
  }

  /** Tokens in the longer of pair `i`'s two sequences (for length-grouped batches). */
  longest(i: number): number {
    return Math.max(this.seqLength[this.chosenSeq[i]!]!, this.seqLength[this.rejectedSeq[i]!]!);
  }

  group(i: number): string | undefined {
    const g = this.groupId[i]!;
    return g >= 0 ? this.groupNames[g] : undefined;
  }

  /** Bytes held in typed arrays (group names not counted: a few short strings). */
  get byteLength(): number {
    return [
      ...this.tokens.chunks,
      this.seqStart,
      this.seqLength,
      this.seqPrompt,
      this.chosenSeq,
      this.rejectedSeq,
      this.weight,
      this.margin,
      this.chosenSign,
      this.rejectedSign,
      this.groupId,
    ].reduce((a, x) => a + x.byteLength, 0);
  }

  /** Distinct sequences stored (at most 2 · length). */
  get sequences(): number {
    return this.seqStart.length;
  }

  private ids(seq: number): number[] {
    return this.tokens.read(this.seqStart[seq]!, this.seqLength[seq]!);
  }
}

/** Tokens a chunk holds (2 MB as Uint16); a run of ids never spans two chunks. */
const CHUNK = 1 << 20;

/**
 * Token ids in fixed-size chunks, addressed by one number (chunk · size + offset): appending
 * never copies what is stored, as a doubling buffer would (its peak was three times the data).
 */
class TokenChunks {
  readonly chunks: Ids[] = [];
  private used: number;

  constructor(
    private readonly make: (n: number) => Ids,
    private readonly size: number,
  ) {
    this.used = size;
  }

  /** Stores `a` ++ `b` in one chunk; returns its address. */
  append(a: readonly number[], b: readonly number[]): number {
    const n = a.length + b.length;
    if (this.used + n > this.size) {
      this.chunks.push(this.make(Math.max(this.size, n)));
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1]!;
    const at = this.used;
    chunk.set(a, at);
    chunk.set(b, at + a.length);
    this.used += n;
    return (this.chunks.length - 1) * this.size + at;
  }

  read(address: number, length: number): number[] {
    const c = Math.floor(address / this.size);
    const at = address - c * this.size;
    return Array.from(this.chunks[c]!.subarray(at, at + length));
  }

  /** The last chunk cut to what it holds (a small set does not keep a 2 MB chunk). */
  trim(): this {
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = this.chunks[last]!.slice(0, this.used);
    return this;
  }
}

/** A column that grows by doubling (a few bytes a sequence); `trimmed()` copies it out. */
class Growing<A extends Float64Array | Uint32Array> {
  used = 0;

  constructor(
    public buf: A,
    private readonly make: (n: number) => A,
  ) {}

  push(values: ArrayLike<number>): void {
    if (this.used + values.length > this.buf.length) {
      const grown = this.make(Math.max(2 * this.buf.length, this.used + values.length));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
    }
    this.buf.set(values, this.used);
    this.used += values.length;
  }

  trimmed(): A {
    return this.buf.slice(0, this.used) as A;
  }
}

/**
 * Appends sequences to a packed token buffer, a (prompt, response) seen again taking the stored
 * sequence. Each prompt is encoded once (its ids kept in chunks too, until `finish`); a response
 * text maps to the last sequence made of it, reused when its prompt is the same — a comparison
 * judged by several raters — and otherwise encoded afresh: a response under many prompts (a
 * stock refusal) is stored once per prompt, as it must be, without a map per prompt (which cost
 * as much as the packed tokens). Texts go through scratch codecs, each for at most SCRATCH_TEXTS
 * texts: a codec memoises every text's full encoding as number[], which for a large set
 * outweighed the packed sequences many times.
 */
class SeqBuilder {
  private readonly tokens: TokenChunks;
  private readonly start: Growing<Float64Array>;
  private readonly length: Growing<Uint32Array>;
  private readonly prompt: Growing<Uint32Array>;
  /** The prompt each sequence was made from (an index into the prompt columns). */
  private readonly seqPromptOf: Growing<Uint32Array>;
  private readonly promptIds: TokenChunks;
  private readonly promptStart: Growing<Float64Array>;
  private readonly promptLength: Growing<Uint32Array>;
  private readonly promptIndex = new Map<string, number>();
  private readonly lastSeqOf = new Map<string, number>();
  private scratch: TextCodec;
  private encoded = 0;

  constructor(
    private readonly codec: TextCodec,
    private readonly seqLen: number,
    pairs: number,
  ) {
    const ids = (n: number): Ids =>
      // A Uint16 buffer would wrap a larger id silently; every id is below the vocabulary size.
      codec.vocabSize <= 65536 ? new Uint16Array(n) : new Int32Array(n);
    const seqs = Math.max(16, 2 * pairs);
    this.tokens = new TokenChunks(ids, CHUNK);
    this.start = new Growing(new Float64Array(seqs), (n) => new Float64Array(n));
    this.length = new Growing(new Uint32Array(seqs), (n) => new Uint32Array(n));
    this.prompt = new Growing(new Uint32Array(seqs), (n) => new Uint32Array(n));
    this.seqPromptOf = new Growing(new Uint32Array(seqs), (n) => new Uint32Array(n));
    this.promptIds = new TokenChunks(ids, CHUNK);
    this.promptStart = new Growing(new Float64Array(1024), (n) => new Float64Array(n));
    this.promptLength = new Growing(new Uint32Array(1024), (n) => new Uint32Array(n));
    this.scratch = new TextCodec(codec.tokenizer);
  }

  /** The index of the sequence of `promptText` ++ `responseText`, encoding it when new. */
  seq(promptText: string, responseText: string): number {
    let p = this.promptIndex.get(promptText);
    if (p === undefined) {
      const ids = this.text("prompt", promptText);
      p = this.promptStart.used;
      this.promptStart.push([this.promptIds.append(ids, [])]);
      this.promptLength.push([ids.length]);
      this.promptIndex.set(promptText, p);
    }
    const last = this.lastSeqOf.get(responseText);
    if (last !== undefined && this.seqPromptOf.buf[last] === p) return last;
    const promptIds = this.promptIds.read(this.promptStart.buf[p]!, this.promptLength.buf[p]!);
    const f = this.codec.fit(promptIds, this.text("response", responseText), this.seqLen);
    const s = this.start.used;
    this.start.push([this.tokens.append(f.prompt, f.response)]);
    this.length.push([f.prompt.length + f.response.length]);
    this.prompt.push([f.prompt.length]);
    this.seqPromptOf.push([p]);
    this.lastSeqOf.set(responseText, s);
    return s;
  }

  /** The packed sequences, trimmed to size; the builder is spent. */
  finish(): {
    tokens: TokenChunks;
    start: Float64Array;
    length: Uint32Array;
    prompt: Uint32Array;
  } {
    this.promptIndex.clear();
    this.lastSeqOf.clear();
    return {
      tokens: this.tokens.trim(),
      start: this.start.trimmed(),
      length: this.length.trimmed(),
      prompt: this.prompt.trimmed(),
    };
  }

  private text(kind: "prompt" | "response", text: string): number[] {
    if (this.encoded++ === SCRATCH_TEXTS) {
      this.scratch = new TextCodec(this.codec.tokenizer);
      this.encoded = 1;
    }
    return kind === "prompt" ? this.scratch.prompt(text) : this.scratch.response(text);
  }
}

/**
 * A trainer's split raw pairs, held until they are encoded. An async trainer's parameters and
 * locals stay reachable across every await of the run, so the trainer receives the pairs in this
 * holder and `drop`s them once encoded; otherwise the texts stay in memory next to their tokens
 * for the whole run.
 */
export class RawPairSets<P extends PreferencePair> {
  #sets: { readonly train: readonly P[]; readonly eval: readonly P[] } | undefined;

  constructor(sets: { readonly train: readonly P[]; readonly eval: readonly P[] }) {
    this.#sets = sets;
  }

  get sets(): { readonly train: readonly P[]; readonly eval: readonly P[] } {
    if (this.#sets) return this.#sets;
    throw new KeelError("KEEL_E_INTERNAL", "the raw pairs were read after they were dropped");
  }

  drop(): void {
    this.#sets = undefined;
  }

  /**
   * Both sets encoded, then dropped. A synchronous call: the registers that held the arrays
   * while they were encoded go with its frame, where an async caller's would be kept across
   * its awaits.
   */
  encode(
    codec: TextCodec,
    seqLen: number,
    o: { cost: boolean; drop: boolean },
  ): { train: PairTable; eval: PairTable } {
    const sets = this.sets;
    const out = {
      train: PairTable.encode(codec, sets.train, seqLen, o),
      eval: PairTable.encode(codec, sets.eval, seqLen, o),
    };
    if (o.drop) this.drop();
    return out;
  }
}
