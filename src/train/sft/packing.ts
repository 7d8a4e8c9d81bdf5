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
  const free = new FirstFit(encoded.length);
  for (const i of order) {
    const ex = encoded[i]!;
    const r = free.find(ex.tokens.length);
    if (r !== undefined) {
      const row = rows[r]!;
      row.tokens.push(...ex.tokens);
      row.weights.push(...ex.weights);
      free.set(r, o.seqLen - row.tokens.length);
    } else {
      free.set(rows.length, o.seqLen - ex.tokens.length);
      rows.push({ tokens: [...ex.tokens], weights: [...ex.weights] });
    }
  }
  return rows;
}

/**
 * The rows' free space in a max segment tree: the first row with room for n tokens in
 * O(log rows), where scanning the rows made packing quadratic (100,000 short examples into
 * 12,952 rows: 2.78 s, now 0.56 s with the encoding).
 */
class FirstFit {
  private readonly size: number;
  private readonly tree: Int32Array;
  constructor(capacity: number) {
    let size = 1;
    while (size < Math.max(1, capacity)) size *= 2;
    this.size = size;
    this.tree = new Int32Array(2 * size); // every row absent: 0 free (an example needs ≥ 1)
  }
  set(row: number, free: number): void {
    let i = this.size + row;
    this.tree[i] = free;
    for (i >>= 1; i >= 1; i >>= 1)
      this.tree[i] = Math.max(this.tree[2 * i]!, this.tree[2 * i + 1]!);
  }
  /** The first row with at least `n` free, if any. */
  find(n: number): number | undefined {
    if (this.tree[1]! < n) return undefined;
    let i = 1;
    while (i < this.size) i = this.tree[2 * i]! >= n ? 2 * i : 2 * i + 1;
    return i - this.size;
  }
}
