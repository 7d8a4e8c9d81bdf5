/**
 * SFT rows: each example is prompt tokens (loss weight 0) followed by response tokens (weight
 * 1, the <|eos|> included), so the model learns to answer, not to ask. With packing, whole
 * examples are placed first-fit into rows of `seqLen` tokens in a seeded order (an example
 * never straddles two rows; one longer than a row is cut by the codec's rule); without it,
 * one example per row. Attention is not reset between packed examples (as TRL's packing): the
 * model also learns to answer wherever a prompt starts.
 */
import { Rng, type Seed } from "../../core/rng.js";
import type { TextCodec } from "../common/codec.js";

export interface SftExample {
  readonly prompt: string;
  readonly completion: string;
}

export interface SftRow {
  readonly tokens: number[];
  /** Loss weight of each position's prediction (1 on response tokens). */
  readonly weights: number[];
}

export function encodeExample(codec: TextCodec, ex: SftExample, seqLen: number): SftRow {
  const { prompt, response } = codec.fit(
    codec.prompt(ex.prompt),
    codec.response(ex.completion),
    seqLen,
  );
  return {
    tokens: [...prompt, ...response],
    weights: [...prompt.map(() => 0), ...response.map(() => 1)],
  };
}

export function buildRows(
  codec: TextCodec,
  examples: readonly SftExample[],
  o: { seqLen: number; packing: boolean; seed: Seed },
): SftRow[] {
  const encoded = examples.map((ex) => encodeExample(codec, ex, o.seqLen));
  if (!o.packing) return encoded;
  const order = new Rng(o.seed).fork("packing").shuffle(encoded.map((_, i) => i));
  const rows: { tokens: number[]; weights: number[] }[] = [];
  for (const i of order) {
    const ex = encoded[i]!;
    const row = rows.find((r) => r.tokens.length + ex.tokens.length <= o.seqLen);
    if (row) {
      row.tokens.push(...ex.tokens);
      row.weights.push(...ex.weights);
    } else rows.push({ tokens: [...ex.tokens], weights: [...ex.weights] });
  }
  return rows;
}
