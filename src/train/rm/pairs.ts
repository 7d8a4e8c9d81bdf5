/**
 * Preference pairs as token rows for reward and cost models: each pair becomes its chosen and
 * rejected sequences (prompt ++ response, cut to the row length by the codec's rule); a batch
 * of B pairs is one right-padded batch of 2B rows, chosen rows first, so one forward pass gives
 * both scores and one backward pass takes both upstream gradients.
 */
import { KeelError } from "../../core/errors.js";
import type { PreferencePair } from "../../core/types.js";
import { type Gpt, padBatch, type TokenBatch } from "../../engine/gpt/model.js";
import type { TextCodec } from "../common/codec.js";
import { PairTable } from "./pairTable.js";

/** A pair for the cost model: `chosen` is the safer response; each response labelled. */
export interface CostPair extends PreferencePair {
  readonly chosen_safe: boolean;
  readonly rejected_safe: boolean;
}

export interface EncodedPair {
  readonly chosen: number[];
  readonly rejected: number[];
  /** Prompt tokens at the start of each sequence (the response follows). */
  readonly chosenPrompt: number;
  readonly rejectedPrompt: number;
  readonly weight: number;
  readonly margin: number;
  /** +1 unsafe, −1 safe (cost pairs only). */
  readonly chosenSign: number;
  readonly rejectedSign: number;
  /** An evaluation group (e.g. the world's prompt family), for per-group accuracy. */
  readonly group?: string;
}

/**
 * The pairs as rows of token ids, all held as number[]: for small sets and tests. Trainers keep
 * a `PairTable` (pairTable.ts), which packs the same rows, and take a batch of rows at a time.
 */
export function encodePairs(
  codec: TextCodec,
  pairs: readonly (PreferencePair | CostPair)[],
  seqLen: number,
  o: { cost: boolean },
): EncodedPair[] {
  return PairTable.encode(codec, pairs, seqLen, o).slice();
}

/** Pairs that can be read a run of rows at a time: an EncodedPair[] or a PairTable. */
export interface PairRows {
  readonly length: number;
  slice(start: number, end: number): readonly EncodedPair[];
}

/**
 * Throws on the first pair of `pairs` (the caller's `data.<set>`, before any split) whose weight
 * is not a finite number ≥ 0, whose margin is not finite, or, for a cost model, whose responses
 * are not labelled safe or unsafe; the error names it as `data.<set>[i].<field>`. (Files are
 * checked row by row with file:line when read; this guards the library API.)
 */
export function checkPairs(
  pairs: readonly (PreferencePair | CostPair)[],
  set: "train" | "eval",
  o: { cost: boolean },
): void {
  pairs.forEach((p, i) => {
    const bad = (field: string, message: string) =>
      new KeelError("KEEL_E_INVALID_RECORD", message, {
        where: { field: `data.${set}[${i}].${field}` },
      });
    const w = p.weight ?? 1;
    if (!(w >= 0) || !Number.isFinite(w))
      throw bad("weight", `pair weight must be a finite number ≥ 0, got ${w}`);
    if (p.margin !== undefined && !Number.isFinite(p.margin))
      throw bad("margin", `pair margin must be a finite number, got ${p.margin}`);
    if (o.cost) {
      const cp = p as CostPair;
      for (const field of ["chosen_safe", "rejected_safe"] as const)
        if (typeof cp[field] !== "boolean")
          throw bad(field, `a cost pair needs chosen_safe and rejected_safe (true or false)`);
    }
  });
}

/**
 * Throws when every training pair weighs 0 (an audit that excluded every comparison): the
 * weighted loss would be 0 at every step, and the run would save its starting model as trained.
 */
export function requireWeight(pairs: readonly PreferencePair[], what: string): void {
  if (pairs.some((p) => (p.weight ?? 1) > 0)) return;
  throw new KeelError(
    "KEEL_E_USAGE",
    `${what}: every training pair has weight 0 (${pairs.length} pairs); nothing to train on`,
    {
      where: { field: "data.train" },
      hint: "an audit that excluded every comparison leaves no weight; check its verdicts, or train without data.weights",
    },
  );
}

/** 2B rows: the chosen sequences, then the rejected ones. */
export function pairBatch(pairs: readonly EncodedPair[], padId: number): TokenBatch {
  return padBatch([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], { padId });
}

/** Scores of chosen and rejected responses of `pairs`, in batches. */
export async function scorePairs(
  model: Gpt,
  pairs: PairRows,
  padId: number,
  batchSize: number,
): Promise<{ chosen: Float64Array; rejected: Float64Array }> {
  const chosen = new Float64Array(pairs.length);
  const rejected = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i += batchSize) {
    const part = pairs.slice(i, i + batchSize);
    const r = await model.rewards(pairBatch(part, padId));
    chosen.set(r.subarray(0, part.length), i);
    rejected.set(r.subarray(part.length), i);
  }
  return { chosen, rejected };
}
