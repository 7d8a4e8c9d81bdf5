/**
 * How keel's trainers turn text into tokens: one layout, shared by SFT, reward models, PPO and
 * DPO, so a model trained by one stage reads what another stage feeds it.
 *
 *   prompt   → encode(prompt) + <|sep|>
 *   response → encode(response) + <|eos|>
 *   sequence = prompt tokens ++ response tokens, right-padded with <|pad|> in batches
 *
 * Prompt and response are encoded separately, so no BPE merge crosses the boundary and a
 * response's tokens do not depend on its prompt. Special-token strings inside user text are
 * defused (their "<|" becomes "< |") so text cannot inject a separator or an end of sequence.
 * Over-long sequences keep the end of the prompt (where the question and separator are) and the
 * start of the response; a response cut short loses its <|eos|>.
 */
import { KeelError } from "../../core/errors.js";
import type { BpeTokenizer } from "../../engine/tokenizer/bpe.js";
import { trainBpe } from "../../engine/tokenizer/train.js";

export const SPECIAL_TOKENS = { pad: "<|pad|>", sep: "<|sep|>", eos: "<|eos|>" } as const;

/**
 * Trains the byte-level BPE the trainers expect (with the three special tokens), on the texts as
 * the codec will encode them: merges learnt on a "<|" that encoding always defuses would never
 * apply.
 */
export function trainTokenizer(texts: Iterable<string>, vocabSize: number): BpeTokenizer {
  return trainBpe(defused(texts), {
    vocabSize,
    minFrequency: 2,
    specialTokens: [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.eos],
  });
}

const defuse = (text: string) => text.replaceAll("<|", "< |");

function* defused(texts: Iterable<string>): Iterable<string> {
  for (const t of texts) yield defuse(t);
}

export class TextCodec {
  readonly padId: number;
  readonly sepId: number;
  readonly eosId: number;
  private readonly cache = new Map<string, number[]>();

  constructor(readonly tokenizer: BpeTokenizer) {
    const id = (t: string) => {
      const v = tokenizer.tokenToId(t);
      if (v === undefined) {
        throw new KeelError("KEEL_E_CONFIG", `the tokenizer has no special token ${t}`, {
          hint: "train the tokenizer with keel (trainTokenizer) or add <|pad|>, <|sep|>, <|eos|>",
        });
      }
      return v;
    };
    this.padId = id(SPECIAL_TOKENS.pad);
    this.sepId = id(SPECIAL_TOKENS.sep);
    this.eosId = id(SPECIAL_TOKENS.eos);
  }

  /** The codec of a tokenizer that has keel's special tokens (a keel-trained model's), else undefined. */
  static of(tokenizer: BpeTokenizer): TextCodec | undefined {
    return Object.values(SPECIAL_TOKENS).every((t) => tokenizer.tokenToId(t) !== undefined)
      ? new TextCodec(tokenizer)
      : undefined;
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  private encode(text: string): number[] {
    let ids = this.cache.get(text);
    if (!ids) {
      ids = this.tokenizer.encode(defuse(text));
      if (this.cache.size < 200_000) this.cache.set(text, ids);
    }
    return ids;
  }

  prompt(text: string): number[] {
    return [...this.encode(text), this.sepId];
  }

  response(text: string): number[] {
    return [...this.encode(text), this.eosId];
  }

  /** Text of generated ids, up to (not including) the first <|eos|>; other specials dropped. */
  decodeResponse(ids: readonly number[]): string {
    const end = ids.indexOf(this.eosId);
    return this.tokenizer.decode(end < 0 ? ids : ids.slice(0, end), { skipSpecial: true });
  }

  /**
   * Prompt and response cut to fit `max` tokens: the response keeps at most `max − minPrompt`
   * tokens, then the prompt keeps its last tokens.
   */
  fit(
    prompt: readonly number[],
    response: readonly number[],
    max: number,
    minPrompt = 8,
  ): { prompt: number[]; response: number[] } {
    const r = response.slice(0, Math.max(1, max - Math.min(minPrompt, prompt.length)));
    const keep = Math.max(1, max - r.length);
    return { prompt: prompt.slice(Math.max(0, prompt.length - keep)), response: r };
  }

  /** The last `max` tokens of a prompt (generation needs room for the response). */
  fitPrompt(prompt: readonly number[], max: number): number[] {
    return prompt.slice(Math.max(0, prompt.length - max));
  }
}
