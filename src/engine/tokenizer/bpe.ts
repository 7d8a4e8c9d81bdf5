/**
 * Byte-level BPE tokenizer (Sennrich et al., "Neural Machine Translation of Rare Words with
 * Subword Units", ACL 2016; byte-level as GPT-2), read and written as a Hugging Face
 * `tokenizer.json` (model type BPE, ByteLevel pre-tokenizer and decoder), so other tools load
 * keel's tokenizers and keel loads theirs when they use this layout.
 *
 * Encoding a pre-token: start from its characters and repeatedly merge the adjacent pair with
 * the lowest merge rank (leftmost on ties) until no pair has a rank — the same order as the
 * Rust and JS implementations of `tokenizers`. Special tokens (added tokens) are cut out of
 * the text first and map to their ids directly.
 * Vocabulary layout of tokenizers trained by keel: ids 0–255 are the 256 bytes in byte order,
 * then one id per merge, then the special tokens.
 */
import { KeelError } from "../../core/errors.js";
import { quote } from "../../core/issue-messages.js";
import { AddedTokens, type SpecialToken } from "./added.js";
import { BYTE_TO_CHAR, preTokenize, toBytes } from "./bytelevel.js";

export type { SpecialToken } from "./added.js";

export interface TokenizerData {
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge pairs in rank order. */
  readonly merges: readonly (readonly [string, string])[];
  readonly special: readonly SpecialToken[];
}

/** Longest pre-token merged in one piece (byte-level characters); see `bpe`. */
export const MAX_PRETOKEN = 128;

export class BpeTokenizer {
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly idToToken: string[];
  private readonly ranks = new Map<string, number>();
  private readonly special: readonly SpecialToken[];
  private readonly specialById = new Map<number, SpecialToken>();
  private readonly specialByContent = new Map<string, number>();
  private readonly added: AddedTokens;
  private readonly cache = new Map<string, number[]>();
  readonly merges: readonly (readonly [string, string])[];

  constructor(data: TokenizerData) {
    this.vocab = data.vocab;
    this.merges = data.merges;
    this.special = data.special;
    this.idToToken = [];
    for (const [t, id] of data.vocab) this.idToToken[id] = t;
    data.merges.forEach(([a, b], i) => {
      this.ranks.set(`${a} ${b}`, i);
    });
    for (const s of data.special) {
      this.specialById.set(s.id, s);
      if (!this.specialByContent.has(s.content)) this.specialByContent.set(s.content, s.id);
      this.idToToken[s.id] = s.content;
    }
    this.added = new AddedTokens(data.special);
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  /** A special token's id before a vocabulary token's of the same text, as `tokenizers` does. */
  tokenToId(token: string): number | undefined {
    return this.specialByContent.get(token) ?? this.vocab.get(token);
  }

  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  /**
   * Merges one byte-level pre-token into token ids. Merging is quadratic in the pre-token's
   * length, and a run of letters or spaces is one pre-token, so untrusted text could make one
   * encode take minutes (a 40 KB word: 29 s, with the server's event loop blocked): longer
   * pre-tokens are merged MAX_PRETOKEN characters at a time. Ordinary text has none that long.
   */
  private bpe(word: string): number[] {
    if (word.length > MAX_PRETOKEN) {
      const out: number[] = [];
      for (let i = 0; i < word.length; i += MAX_PRETOKEN)
        for (const id of this.bpe(word.slice(i, i + MAX_PRETOKEN))) out.push(id);
      return out;
    }
    const hit = this.cache.get(word);
    if (hit) return hit;
    const parts = Array.from(word);
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best]! + parts[best + 1]!);
    }
    const ids = parts.map((p) => {
      const id = this.vocab.get(p);
      if (id === undefined) {
        throw new KeelError(
          "KEEL_E_INVALID_RECORD",
          `token ${JSON.stringify(p)} is missing from the vocabulary`,
          {
            hint: "the tokenizer file's merges produce a token its vocab lacks; the file is inconsistent",
          },
        );
      }
      return id;
    });
    if (this.cache.size < 100_000) this.cache.set(word, ids);
    return ids;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of this.added.split(text)) {
      if (typeof piece === "number") out.push(piece);
      // (Not push(...ids): a long text's spread would overflow the call stack.)
      else for (const w of preTokenize(piece)) for (const id of this.bpe(w)) out.push(id);
    }
    return out;
  }

  /**
   * Text of ids, as the ByteLevel decoder of `tokenizers`: every token's bytes (an added token's
   * too, see `toBytes`) joined, then read as UTF-8 with U+FFFD for invalid sequences.
   * `skipSpecial` drops added tokens marked special (not those with `special: false`).
   */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const added = this.specialById.get(id);
      if (opts.skipSpecial && added && added.special !== false) continue;
      const tok = this.idToToken[id];
      if (tok === undefined)
        throw new KeelError("KEEL_E_INVALID_RECORD", `token id ${id} is outside the vocabulary`);
      toBytes(tok, bytes);
    }
    // ignoreBOM: a leading U+FEFF is text like any other, not a marker to drop.
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array(bytes));
  }

  /** The Hugging Face tokenizer.json object. */
  toJSON(): Record<string, unknown> {
    const byteLevel = {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.special.map((s) => ({
        id: s.id,
        content: s.content,
        single_word: s.singleWord ?? false,
        lstrip: s.lstrip ?? false,
        rstrip: s.rstrip ?? false,
        normalized: s.normalized ?? false,
        special: s.special ?? true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.vocab),
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  /**
   * Reads a tokenizer.json object of the byte-level BPE layout. The file may come from anyone,
   * so it is checked as the `tokenizers` library checks it, before anything is built: ids are
   * distinct integers 0…n−1 (an id of 1e9 would make a 1e9-row embedding), added tokens are
   * non-empty strings, and every merge is two tokens of the vocabulary whose join is one too.
   * Keel has no unknown token, so the vocabulary must also hold all 256 byte characters.
   */
  static fromJSON(json: unknown, file?: string): BpeTokenizer {
    const j = json as {
      model?: Record<string, unknown>;
      pre_tokenizer?: Record<string, unknown>;
      normalizer?: unknown;
      added_tokens?: unknown;
    } | null;
    const where = file ? { file } : {};
    if (
      typeof j !== "object" ||
      j === null ||
      j.model?.type !== "BPE" ||
      !j.model.vocab ||
      !j.model.merges
    ) {
      throw new KeelError(
        "KEEL_E_UNKNOWN_FORMAT",
        "not a BPE tokenizer.json (model.type must be BPE)",
        { where },
      );
    }
    if (j.pre_tokenizer?.type !== "ByteLevel") {
      throw new KeelError("KEEL_E_UNSUPPORTED", "only byte-level BPE tokenizers are supported", {
        where: { ...where, field: "pre_tokenizer" },
      });
    }
    refuseOptions(j.model, j.pre_tokenizer, j.normalizer, where);
    const bad = (field: string, msg: string) =>
      new KeelError("KEEL_E_INVALID_RECORD", `invalid tokenizer.json: ${msg}`, {
        where: { ...where, field },
      });
    const vocab = readVocab(j.model.vocab, bad);
    // Every text is a string over the 256 byte characters, so a missing one loaded fine and
    // then failed each text holding that byte, as if the text were at fault.
    BYTE_TO_CHAR.forEach((c, b) => {
      if (!vocab.has(c))
        throw bad(
          "model.vocab",
          `byte 0x${b.toString(16).padStart(2, "0")} (${JSON.stringify(c)}) has no token; a byte-level vocabulary holds all 256 bytes`,
        );
    });
    const special = readAddedTokens(j.added_tokens, vocab, bad);
    return new BpeTokenizer({ vocab, merges: readMerges(j.model.merges, vocab, bad), special });
  }
}

/**
 * Options that change how Hugging Face encodes, which this encoder does not implement: loaded
 * anyway, a file with a lowercasing normalizer or a word suffix gave other ids than the
 * `tokenizers` library, silently. Off or absent, each is the layout keel reads and writes.
 */
function refuseOptions(
  model: Record<string, unknown>,
  pre: Record<string, unknown>,
  normalizer: unknown,
  where: { file?: string },
): void {
  const off = (v: unknown) => v === undefined || v === null || v === false || v === "";
  const checks: [string, unknown, boolean][] = [
    ["normalizer", normalizer, off(normalizer)],
    ["pre_tokenizer.add_prefix_space", pre.add_prefix_space, off(pre.add_prefix_space)],
    ["pre_tokenizer.use_regex", pre.use_regex, pre.use_regex !== false],
    [
      "model.continuing_subword_prefix",
      model.continuing_subword_prefix,
      off(model.continuing_subword_prefix),
    ],
    ["model.end_of_word_suffix", model.end_of_word_suffix, off(model.end_of_word_suffix)],
    ["model.ignore_merges", model.ignore_merges, off(model.ignore_merges)],
  ];
  for (const [field, value, ok] of checks)
    if (!ok)
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        `tokenizer.json sets ${field} to ${quote(value)}, which keel's encoder does not implement`,
        {
          where: { ...where, field },
          hint: `only the plain byte-level BPE layout is read; ${field} must be off`,
        },
      );
}

type Bad = (field: string, msg: string) => KeelError;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** model.vocab: token → id, each id a distinct integer, the ids 0…n−1 with no holes. */
function readVocab(raw: unknown, bad: Bad): Map<string, number> {
  if (!isObject(raw)) throw bad("model.vocab", "not a map of token to id");
  const vocab = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const [token, id] of Object.entries(raw)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0)
      throw bad(
        "model.vocab",
        `token ${quote(token)}: id ${quote(id)} is not a non-negative integer`,
      );
    const other = byId.get(id as number);
    if (other !== undefined)
      throw bad(
        "model.vocab",
        `token ${quote(token)}: id ${id} is also the id of ${quote(other)}; ids must be distinct`,
      );
    byId.set(id as number, token);
    vocab.set(token, id as number);
  }
  return vocab;
}

/** The added-token flags of a tokenizer.json, and their names in `SpecialToken`. */
const FLAGS = [
  ["special", "special"],
  ["single_word", "singleWord"],
  ["lstrip", "lstrip"],
  ["rstrip", "rstrip"],
  ["normalized", "normalized"],
] as const;

// A lone surrogate cannot be in a file `tokenizers` reads, and as a token it would match half
// of a character of the text (an emoji cut in two).
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * One entry of added_tokens: {id, content} with non-empty content, and the flags as booleans.
 * A flag left out takes the value keel writes (special, nothing else), which is what keel did
 * before it read them; `normalized` then follows `special`, as in `tokenizers`.
 */
function readAddedToken(t: unknown, i: number, bad: Bad): SpecialToken {
  const { id, content } = isObject(t) ? t : {};
  if (!Number.isSafeInteger(id) || (id as number) < 0 || typeof content !== "string" || !content)
    throw bad(
      `added_tokens.${i}`,
      "expected {id: non-negative integer, content: non-empty string}",
    );
  if (LONE_SURROGATE.test(content))
    throw bad(`added_tokens.${i}.content`, "holds a lone UTF-16 surrogate, which is not text");
  const flags: Record<string, boolean> = {};
  for (const [name, key] of FLAGS) {
    const v = (t as Record<string, unknown>)[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean")
      throw bad(
        `added_tokens.${i}.${name}`,
        `${name} of ${quote(content)} is ${quote(v)}, not true or false`,
      );
    flags[key] = v;
  }
  const special = flags.special ?? true;
  return {
    id: id as number,
    content,
    special,
    singleWord: flags.singleWord ?? false,
    lstrip: flags.lstrip ?? false,
    rstrip: flags.rstrip ?? false,
    normalized: flags.normalized ?? !special,
  };
}

/** added_tokens: each token is one id's, no holes overall. */
function readAddedTokens(raw: unknown, vocab: Map<string, number>, bad: Bad): SpecialToken[] {
  if (raw !== undefined && raw !== null && !Array.isArray(raw))
    throw bad("added_tokens", "not a list");
  const byId = new Map<number, string>();
  for (const [t, id] of vocab) byId.set(id, t);
  const special: SpecialToken[] = [];
  for (const [i, t] of ((raw as unknown[] | null | undefined) ?? []).entries()) {
    const token = readAddedToken(t, i, bad);
    const other = byId.get(token.id);
    if (other !== undefined && other !== token.content)
      throw bad(
        `added_tokens.${i}`,
        `id ${token.id} is also the id of ${quote(other)}; ids must be distinct`,
      );
    byId.set(token.id, token.content);
    special.push(token);
  }
  let max = -1;
  for (const id of byId.keys()) max = Math.max(max, id);
  if (max + 1 !== byId.size)
    throw bad(
      "model.vocab",
      `ids run up to ${max} but there are ${byId.size} tokens; ids must be 0…${byId.size - 1} with no gaps`,
    );
  return special;
}

/** model.merges: "a b" strings or [a, b] pairs, each part and its join in the vocabulary. */
function readMerges(raw: unknown, vocab: Map<string, number>, bad: Bad): [string, string][] {
  if (!Array.isArray(raw)) throw bad("model.merges", "not a list");
  return raw.map((m: unknown, i): [string, string] => {
    const pair = typeof m === "string" ? m.split(" ") : m;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== "string" ||
      typeof pair[1] !== "string" ||
      !pair[0] ||
      !pair[1]
    )
      throw bad(`model.merges.${i}`, `${quote(m)} is not a pair of tokens ("a b")`);
    const [a, b] = pair as [string, string];
    for (const t of [a, b, a + b])
      if (!vocab.has(t))
        throw bad(
          `model.merges.${i}`,
          `merge ${quote(`${a} ${b}`)} uses ${quote(t)}, which is not in the vocabulary`,
        );
    return [a, b];
  });
}

/** The 256 byte tokens in byte order (ids 0–255 of keel-trained tokenizers). */
export function byteVocab(): Map<string, number> {
  return new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
}
