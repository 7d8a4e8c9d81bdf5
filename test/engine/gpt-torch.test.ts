/**
 * keel's GPT against an independent PyTorch implementation of the same architecture
 * (`scripts/gpt-torch-reference.py`, nanoGPT style, written from docs/engine.md rather than
 * ported from src/engine/gpt). The script loads the weights of the seeded model built here
 * from keel's checkpoint, computes in float64 the logits, per-token log-probs, values,
 * rewards, the masked SFT loss, its gradient for a few named parameters, and the gradient of
 * a backward() from upstream gradients, and stores them in `fixtures/gpt-torch.json` (CI has
 * no Python). Batches: a full-context row (position 11 of 11), a right-padded row and a
 * left-padded one (padding holding varied ids and loss weight), and a batch with no mask.
 * Padded positions' outputs are undefined ("mask them"): the fixture holds none there.
 *
 * Every value is compared relative to its tensor's largest entry (at least 1 for the
 * forward heads), so tiny gradient entries are held to the same absolute precision as their
 * tensor's large ones; the loss relative to itself. Measured (onnxruntime-node 1.30, CPU):
 *   float32: heads ≤ 5.8e-7, loss ≤ 5.3e-8, gradients ≤ 1.3e-6; tolerance 2e-5. That is a
 *     few float32 ulp (6e-8) gathered through two layers, softmax, layer norm and the
 *     backward pass; a real error is far larger: a GELU in erf form instead of tanh moves
 *     the logits by 2.4e-4 of their scale and wte's gradient by 1.1e-3, layer-norm ε ×10 the
 *     loss by 6e-5, positions shifted by one the loss by 1.3e-2.
 *   float64 (keel's float64 graphs on the same weights): heads ≤ 5.7e-12, loss ≤ 1.8e-13,
 *     gradients ≤ 4.3e-12; tolerance 1e-10. That is float64 round-off gathered the same way.
 *     It takes keel's float64 graphs being float64 throughout: before GraphBuilder.gelu wrote
 *     float64 GELU out in ops (ONNX Runtime has no float64 Gelu kernel and expands the node
 *     with float32 √(2/π) and 0.044715) and float64 sessions ran at optimisation level
 *     "basic" (level "all" fused attention's MatMul·(1/√D) into a FusedMatMul with a float32
 *     alpha, 1/√8 off by 1.7e-8 relative), the figures were heads 2.3e-8, loss 1.2e-9 and
 *     gradients 3.9e-8.
 *
 * keel's own init (N(0, 0.02), gains 1, biases 0) leaves attention near uniform and layer
 * norms' affine parts invisible, so both sides "sharpen" the seeded weights the same way
 * (`sharpen`, copied in the script); the weights' SHA-256 is in the fixture, so a changed
 * init, RNG or sharpening fails first, with a message saying to regenerate.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Gpt } from "../../src/engine/gpt/model.js";
import type { FloatArray } from "../../src/engine/params.js";

interface FixtureBatch {
  readonly name: string;
  readonly tokens: number[][];
  readonly mask: number[][] | null;
  readonly lossMask: number[][];
  readonly logits: (number[] | null)[];
  readonly logprobs: (number | null)[];
  readonly values: (number | null)[];
  readonly rewards: number[];
  readonly loss: number;
  readonly grads: Record<string, number[]>;
  readonly upstream?: {
    readonly d_logprobs: number[];
    readonly d_values: number[];
    readonly d_rewards: number[];
    readonly grads: Record<string, number[]>;
  };
}

interface Fixture {
  readonly torch: string;
  readonly config: {
    vocab: number;
    dModel: number;
    layers: number;
    heads: number;
    context: number;
  };
  readonly seed: number;
  readonly params: string[];
  readonly weightsSha256: string;
  readonly batches: FixtureBatch[];
}

const FIX = JSON.parse(
  readFileSync(new URL("./fixtures/gpt-torch.json", import.meta.url), "utf8"),
) as Fixture;

const TOL = { float32: 2e-5, float64: 1e-10 } as const;
type DType = keyof typeof TOL;

/** The same transform as scripts/gpt-torch-reference.py's SHARPEN_TS. */
function sharpen(m: Gpt): void {
  for (const s of m.params.specs) {
    const v = m.params.view(s.name);
    for (let i = 0; i < v.length; i++) {
      if (s.init === "normal") v[i] = v[i]! * 15;
      else if (s.init === "ones") v[i] = 1 + 0.3 * Math.sin(1.7 * i + 0.4);
      else v[i] = 0.2 * Math.cos(2.3 * i + 0.1);
    }
  }
  m.params.touch();
}

const f32 = new Gpt(FIX.config, { seed: FIX.seed, threads: 1 });
sharpen(f32);
// float64 graphs on the very same (float32-valued) weights
const f64 = new Gpt(
  { ...FIX.config, dtype: "float64" },
  { threads: 1, weights: (s) => f32.params.view(s.name) },
);
const MODELS: Record<DType, Gpt> = { float32: f32, float64: f64 };
afterAll(async () => {
  await f32.dispose();
  await f64.dispose();
});

function weightsSha256(m: Gpt): string {
  const h = createHash("sha256");
  for (const s of m.params.specs) {
    const v = m.params.view(s.name);
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest("hex");
}

/** max |got − want| over the entries want defines, over max(floor, max |want|). */
function error(got: ArrayLike<number>, want: readonly (number | null)[], floor = 0): number {
  expect(got.length).toBe(want.length);
  let scale = Math.max(floor, Number.MIN_VALUE); // an all-zero tensor is compared exactly
  for (const w of want) if (w !== null) scale = Math.max(scale, Math.abs(w));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w !== null && w !== undefined) worst = Math.max(worst, Math.abs(got[i]! - w));
  }
  return worst / scale;
}

function batchOf(fb: FixtureBatch, dtype: DType) {
  const B = fb.tokens.length;
  const T = fb.tokens[0]!.length;
  const floats = (x: number[]) =>
    dtype === "float64" ? Float64Array.from(x) : Float32Array.from(x);
  return {
    batch: B,
    length: T,
    tokens: Int32Array.from(fb.tokens.flat()),
    ...(fb.mask ? { mask: Int32Array.from(fb.mask.flat()) } : {}),
    lossMask: floats(fb.lossMask.flat()) as FloatArray,
    floats,
  };
}

const grad = (m: Gpt, g: FloatArray, name: string) => {
  const [o, n] = m.params.range(name);
  return g.subarray(o, o + n);
};

describe("GPT against PyTorch (scripts/gpt-torch-reference.py)", () => {
  it("the weights are the ones the fixture was computed from", () => {
    expect(f32.params.names, "parameter list or order changed").toEqual(FIX.params);
    expect(
      weightsSha256(f32),
      "keel's seeded GPT weights changed (init, RNG or sharpen): regenerate the fixture with " +
        "`python3 scripts/gpt-torch-reference.py`",
    ).toBe(FIX.weightsSha256);
  });

  for (const dtype of ["float32", "float64"] as const)
    for (const fb of FIX.batches) {
      it(`${dtype}, ${fb.name}: logits, log-probs, values and rewards`, async () => {
        const m = MODELS[dtype];
        const b = batchOf(fb, dtype);
        const out = await m.forward(b, ["logits", "logprobs", "values", "rewards"]);
        const V = FIX.config.vocab;
        const logits = fb.logits.flatMap((row) => row ?? Array<null>(V).fill(null));
        const errs = {
          logits: error(out.logits!, logits, 1),
          logprobs: error(out.logprobs!, fb.logprobs, 1),
          values: error(out.values!, fb.values, 1),
          rewards: error(out.rewards!, fb.rewards, 1),
        };
        for (const [head, e] of Object.entries(errs))
          expect(e, `${head}: error ${e.toExponential(2)}`).toBeLessThan(TOL[dtype]);
      });

      it(`${dtype}, ${fb.name}: SFT loss and its gradient`, async () => {
        const m = MODELS[dtype];
        const { loss, grad: g } = await m.lossAndGrad(batchOf(fb, dtype));
        const e = Math.abs(loss - fb.loss) / Math.abs(fb.loss);
        expect(e, `loss ${loss} vs torch's ${fb.loss}`).toBeLessThan(TOL[dtype]);
        for (const [name, want] of Object.entries(fb.grads)) {
          const e = error(grad(m, g, name), want);
          expect(e, `grad ${name}: error ${e.toExponential(2)}`).toBeLessThan(TOL[dtype]);
        }
      });

      const up = fb.upstream;
      if (up)
        it(`${dtype}, ${fb.name}: backward from upstream log-prob, value and reward gradients`, async () => {
          const m = MODELS[dtype];
          const b = batchOf(fb, dtype);
          const g = await m.backward(b, {
            logprobs: b.floats(up.d_logprobs),
            values: b.floats(up.d_values),
            rewards: b.floats(up.d_rewards),
          });
          for (const [name, want] of Object.entries(up.grads)) {
            const e = error(grad(m, g, name), want);
            expect(e, `grad ${name}: error ${e.toExponential(2)}`).toBeLessThan(TOL[dtype]);
          }
        });
    }
});
