/**
 * The packed pairs the reward-model, cost-model and DPO trainers keep (rm/pairTable.ts): the same
 * rows as the codec's layout gives them one by one, each distinct sequence stored once, token ids
 * in 2 bytes; and the trainers let go of the raw pairs once encoded (an async trainer's
 * parameters otherwise stay reachable for the whole run).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { PreferencePair } from "../../src/core/types.js";
import type { TextCodec } from "../../src/train/common/codec.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import type { CostPair } from "../../src/train/rm/pairs.js";
import { PairTable } from "../../src/train/rm/pairTable.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A pair's rows by the codec's rule, written out independently of PairTable. */
function byHand(codec: TextCodec, p: PreferencePair, seqLen: number) {
  const prompt = codec.prompt(p.prompt as string);
  const seq = (r: string) => {
    const f = codec.fit(prompt, codec.response(r), seqLen);
    return { ids: [...f.prompt, ...f.response], prompt: f.prompt.length };
  };
  const c = seq(p.chosen as string);
  const r = seq(p.rejected as string);
  return { c, r };
}

const long = "the sky is blue and grass is green ".repeat(6);
const safe = (c: boolean, r: boolean) => ({ chosen_safe: c, rejected_safe: r });
const PAIRS: (CostPair & { group?: string })[] = [
  { prompt: "pick one", chosen: "A", rejected: "B", ...safe(true, false) },
  // The same comparison judged the other way: two sequences shared with the first pair.
  { prompt: "pick one", chosen: "B", rejected: "A", ...safe(false, true) },
  { prompt: "say yes", chosen: "yes", rejected: "no", weight: 0.25, margin: -1.5, group: "g1" },
  { prompt: long, chosen: long, rejected: "<|eos|> no", weight: 0, ...safe(true, true) },
  { prompt: "pick one", chosen: "A", rejected: "", group: "g0", ...safe(false, false) },
].map((p) => ({ ...safe(false, false), ...p }));

describe("PairTable", () => {
  const codec = tinyCodec();
  const seqLen = 16;

  it("holds the rows the codec gives pair by pair, each distinct sequence once", () => {
    const t = PairTable.encode(codec, PAIRS, seqLen, { cost: true });
    expect(t.length).toBe(PAIRS.length);
    // pick one ++ A, pick one ++ B, say yes ++ yes/no, long ++ long/"<|eos|> no", pick one ++ "".
    expect(t.sequences).toBe(7);
    PAIRS.forEach((p, i) => {
      const want = byHand(codec, p, seqLen);
      const got = t.pair(i);
      expect(got.chosen).toEqual(want.c.ids);
      expect(got.rejected).toEqual(want.r.ids);
      expect(got.chosenPrompt).toBe(want.c.prompt);
      expect(got.rejectedPrompt).toBe(want.r.prompt);
      expect(got.weight).toBe(p.weight ?? 1);
      expect(got.margin).toBe(p.margin ?? 0);
      expect(got.chosenSign).toBe(p.chosen_safe ? -1 : 1);
      expect(got.rejectedSign).toBe(p.rejected_safe ? -1 : 1);
      expect(got.group).toBe(p.group);
      expect(t.group(i)).toBe(p.group);
      expect(t.longest(i)).toBe(Math.max(want.c.ids.length, want.r.ids.length));
    });
    // Cut to the row length: the cut response lost its <|eos|>, and the one in its text was
    // defused into plain text.
    expect(t.pair(3).chosen.length).toBe(seqLen);
    expect(t.pair(3).rejected).not.toContain(codec.eosId);
    expect(t.pair(2).rejected.at(-1)).toBe(codec.eosId);
  });

  it("stores a token id in 2 bytes, and reads back runs like an array", () => {
    const t = PairTable.encode(codec, PAIRS, seqLen, { cost: false });
    const distinct = new Map<string, number>();
    for (const p of t.slice())
      for (const ids of [p.chosen, p.rejected]) distinct.set(JSON.stringify(ids), ids.length);
    const tokens = [...distinct.values()].reduce((a, x) => a + x, 0);
    // 2 bytes a stored token; a sequence's start, length and prompt length 16; a pair's two
    // sequence indices, weight, margin, signs and group 30.
    expect(t.byteLength).toBe(2 * tokens + 16 * t.sequences + 30 * PAIRS.length);
    expect(t.pair(0).chosenSign).toBe(0);
    expect(t.slice(3, 99).map((p) => p.weight)).toEqual([0, 1]);
    expect(t.slice(-5, 1)).toHaveLength(1);
    expect(t.pairs([4, 0]).map((p) => p.chosen)).toEqual([t.pair(4).chosen, t.pair(0).chosen]);
    expect(PairTable.encode(codec, [], seqLen, { cost: false }).slice()).toEqual([]);
  });
});

/**
 * Trains with pairs only the trainer can reach, and reports at each step how many of them
 * (training and held-out) are still in memory after a full collection.
 */
async function alive(
  train: (data: { train: CostPair[] }, onProgress: () => void) => Promise<unknown>,
): Promise<number[]> {
  const seen: number[] = [];
  let refs: WeakRef<object>[] = [];
  const data = () => {
    const pairs = Array.from({ length: 12 }, (_, i) => ({
      prompt: `say yes ${i}`,
      chosen: "yes",
      rejected: "no",
      chosen_safe: true,
      rejected_safe: false,
    }));
    refs = pairs.map((p) => new WeakRef(p));
    return { train: pairs };
  };
  await train(data(), () => {
    gc();
    seen.push(refs.filter((r) => r.deref() !== undefined).length);
  });
  return seen;
}

describe("the pair trainers let go of the raw pairs once encoded", () => {
  const init = tinyCheckpoint(tmp("pair-table"));
  const train = { steps: 3, batch_size: 4, eval_fraction: 0.25 };
  const hooks = (onProgress: () => void) => ({ onProgress, threads: 1 });

  it("reward model", async () => {
    const seen = await alive((d, on) =>
      trainRewardModel({ model: { init }, train }, d, { ...hooks(on), outDir: tmp("rm") }),
    );
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set([0]));
  });

  it("reward-model ensemble, and a cost model", async () => {
    const rm = await alive((d, on) =>
      trainRewardModel({ model: { init }, train, ensemble: { size: 2 } }, d, hooks(on)),
    );
    expect(rm.length).toBeGreaterThanOrEqual(6);
    expect(new Set(rm)).toEqual(new Set([0]));
    const cost = await alive((d, on) => trainCostModel({ model: { init }, train }, d, hooks(on)));
    expect(new Set(cost)).toEqual(new Set([0]));
  });

  it("DPO", async () => {
    const seen = await alive((d, on) =>
      trainDpo({ model: { init }, train, reference: { init } }, d, hooks(on)),
    );
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set([0]));
  });
});
