import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/engine/checkpoint/safetensors.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const CFG = { vocab: 300, dModel: 16, layers: 1, heads: 2, context: 12 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "keel-ckpt-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function trainBatch(seed: number) {
  const rng = new Rng(seed);
  const rows = Array.from({ length: 3 }, () =>
    Array.from({ length: 4 + rng.int(6) }, () => rng.int(CFG.vocab)),
  );
  const b = padBatch(rows);
  return { ...b, lossMask: Float32Array.from(b.mask!) };
}

async function steps(m: Gpt, opt: AdamW, ema: Ema, from: number, to: number) {
  const losses: number[] = [];
  for (let s = from; s < to; s++) {
    const { loss, grad } = await m.lossAndGrad(trainBatch(s));
    opt.step(grad);
    ema.update();
    losses.push(loss);
  }
  return losses;
}

describe("safetensors", () => {
  it("round-trips tensors and metadata", () => {
    const t = new Map([
      ["a", { dtype: "F32" as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ["b", { dtype: "I64" as const, shape: [2], data: BigInt64Array.from([7n, -8n]) }],
    ]);
    const bytes = Buffer.concat(encodeSafetensors(t, { note: "x" }));
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: "x" });
    expect(Array.from(back.tensors.get("a")!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(back.tensors.get("b")!.data as BigInt64Array)).toEqual([7n, -8n]);
  });
});

describe("checkpoints", () => {
  it("resume continues exactly as an uninterrupted run", async () => {
    const opts = { lr: 3e-3, weightDecay: 0.1, maxGradNorm: 1 };
    const a = new Gpt(CFG, { seed: 1, threads: 1 });
    const optA = new AdamW(a.params, opts);
    const emaA = new Ema(a.params, 0.9);
    const straight = await steps(a, optA, emaA, 0, 6);

    const b = new Gpt(CFG, { seed: 1, threads: 1 });
    const optB = new AdamW(b.params, opts);
    const emaB = new Ema(b.params, 0.9);
    await steps(b, optB, emaB, 0, 3);
    const dir = tmp();
    const tok = trainBpe(["hello world hello there"], { vocabSize: 260 });
    saveCheckpoint(dir, b, {
      step: 3,
      optimizer: optB,
      ema: emaB,
      tokenizer: tok,
      extra: { dataPos: 3 },
    });

    const ck = loadCheckpoint(dir, { threads: 1 });
    expect(ck.step).toBe(3);
    expect(ck.extra).toEqual({ dataPos: 3 });
    expect(ck.tokenizer!.encode("hello there")).toEqual(tok.encode("hello there"));
    const optC = new AdamW(ck.model.params, opts);
    const emaC = new Ema(ck.model.params, 0.9);
    ck.restoreOptimizer(optC);
    ck.restoreEma(emaC);
    const resumed = await steps(ck.model, optC, emaC, 3, 6);
    expect(resumed).toEqual(straight.slice(3));
    expect(Array.from(ck.model.params.flat)).toEqual(Array.from(a.params.flat));
    expect(Array.from(emaC.shadow)).toEqual(Array.from(emaA.shadow));
    await Promise.all([a.dispose(), b.dispose(), ck.model.dispose()]);
  });

  it("detects a torn or edited weights file", () => {
    const m = new Gpt(CFG, { seed: 2 });
    const dir = tmp();
    saveCheckpoint(dir, m);
    const f = join(dir, "model.safetensors");
    const buf = readFileSync(f);
    buf[buf.length - 1] = buf[buf.length - 1]! ^ 1;
    writeFileSync(f, buf);
    expect(() => loadCheckpoint(dir)).toThrow(/does not match the hash/);
  });

  it("rejects a missing checkpoint with a clear error", () => {
    expect(() => loadCheckpoint(join(tmpdir(), "keel-no-such-ckpt"))).toThrow(/no checkpoint/);
  });
});
