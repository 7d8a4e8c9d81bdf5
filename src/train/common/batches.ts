/**
 * An epoch's batches of example indices, a pure function of (seed, epoch): the examples are
 * shuffled with Rng(seed).fork(label); with `lengthOf`, each run of `bucket` consecutive batches'
 * worth of examples is sorted by length before being cut into batches, and the batches are then
 * shuffled again — so a batch holds examples of similar length and right-padding wastes little
 * (length-grouped sampling, as TRL's `group_by_length`), while the order stays random.
 */
import { Rng, type Seed } from "../../core/rng.js";

export function epochBatches(
  pool: readonly number[],
  batchSize: number,
  seed: Seed,
  label: string,
  lengthOf?: (i: number) => number,
  bucket = 16,
): number[][] {
  const rng = new Rng(seed).fork(label);
  const order = rng.shuffle([...pool]);
  const batches: number[][] = [];
  const span = lengthOf ? batchSize * bucket : batchSize;
  for (let s = 0; s < order.length; s += span) {
    const chunk = order.slice(s, s + span);
    if (lengthOf) chunk.sort((a, b) => lengthOf(a) - lengthOf(b) || a - b);
    for (let k = 0; k < chunk.length; k += batchSize) batches.push(chunk.slice(k, k + batchSize));
  }
  return lengthOf ? rng.fork("batches").shuffle(batches) : batches;
}
