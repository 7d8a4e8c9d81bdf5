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
 * then one id per merge, then the special tokens. The tokenizer.json object itself is written
 * and checked in tokenizer-json.ts.
 */
import { KeelError } from "../../core/errors.js";
import { AddedTokens, type SpecialToken } from "./added.js";
import { BYTE_TO_CHAR, CHAR_TO_BYTE, preTokenize, toBytes } from "./bytelevel.js";
import { readTokenizerJson, tokenizerJson } from "./tokenizer-json.js";

export type { SpecialToken } from "./added.js";

export interface TokenizerData {
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge pairs in rank order. */
  readonly merges: readonly (readonly [string, string])[];
  readonly special: readonly SpecialToken[];
}

/** Longest pre-token merged in one piece (byte-level characters); see `bpe`. */
export const MAX_PRETOKEN = 128;

/** A byte-level character standing for a UTF-8 continuation byte (10xxxxxx). */
function continuesCharacter(c: string): boolean {
  const b = CHAR_TO_BYTE.get(c);
  return b !== undefined && b >= 0x80 && b < 0xc0;
}

/**
 * A byte-level pre-token in the pieces the encoder merges (and the trainer counts): whole when
 * at most MAX_PRETOKEN long, else pieces of at most MAX_PRETOKEN, each cut moved back (by at
 * most 3) off a UTF-8 continuation byte so that no piece ends inside a character. Before, a
 * clause of 43 or more Chinese characters (3 bytes each) was cut mid-character, and each of the
 * two tokens there decoded alone to U+FFFD. ASCII (no continuation bytes) is cut as before.
 */
export function preTokenPieces(word: string): string[] {
  if (word.length <= MAX_PRETOKEN) return [word];
  const out: string[] = [];
  for (let i = 0; i < word.length; ) {
    let end = Math.min(i + MAX_PRETOKEN, word.length);
    for (let back = 0; back < 3 && end < word.length && continuesCharacter(word[end]!); back++)
      end--;
    out.push(word.slice(i, end));
    i = end;
  }
  return out;
}

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
   * pre-tokens are merged in pieces of at most MAX_PRETOKEN characters (`preTokenPieces`). Text
   * in spaced scripts has none that long; a clause of Chinese or Japanese can.
   */
  private bpe(word: string): number[] {
    if (word.length > MAX_PRETOKEN) {
      const out: number[] = [];
      for (const piece of preTokenPieces(word)) for (const id of this.bpe(piece)) out.push(id);
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
    return tokenizerJson({ vocab: this.vocab, merges: this.merges, special: this.special });
  }

  /**
   * Reads a tokenizer.json object of the byte-level BPE layout, from anyone: it is checked as
   * the `tokenizers` library checks it before anything is built (`readTokenizerJson`).
   */
  static fromJSON(json: unknown, file?: string): BpeTokenizer {
    return new BpeTokenizer(readTokenizerJson(json, file));
  }
}

/** The 256 byte tokens in byte order (ids 0–255 of keel-trained tokenizers). */
export function byteVocab(): Map<string, number> {
  return new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
}
