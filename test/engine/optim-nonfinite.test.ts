/**
 * AdamW and EMA when a gradient is not finite. PyTorch's AdamW writes a NaN gradient into m, v
 * and every weight, and `clip_grad_norm_` with an infinite norm scales every entry by
 * c / ∞ = 0 (an ∞ entry by 0·∞ = NaN). keel refuses the step before anything changes, on the
 * SIMD path (gradient in the arena) and the scalar one (gradient outside it), clipped or not,
 * so the run can go on from the same state (or save it) with nothing poisoned.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { ParamStore } from "../../src/engine/params.js";

const SPECS = [
  { name: "w", shape: [6, 3], init: "normal" as const },
  { name: "b", shape: [3], init: "zeros" as const },
];

const snapshot = (opt: AdamW) => ({
  p: Array.from(opt.params.flat),
  m: Array.from(opt.m),
  v: Array.from(opt.v),
  t: opt.t,
});

describe("AdamW with a non-finite gradient", () => {
  for (const dtype of ["float32", "float64"] as const)
    for (const clip of [undefined, 1])
      it(`refuses NaN, +∞ and −∞ entries with nothing changed (${dtype}, clip ${clip ?? "off"})`, () => {
        const ps = new ParamStore(SPECS, dtype);
        ps.initialise(new Rng(8));
        const opt = new AdamW(ps, { lr: 0.1, ...(clip ? { maxGradNorm: clip } : {}) });
        const good = ps.zerosLike().fill(0.3);
        opt.step(good); // moments not zero, t = 1
        const before = snapshot(opt);
        const ema = new Ema(ps, 0.5);
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          // in the arena (the SIMD kernel's path for float32) and outside it (the scalar loop)
          const inArena = ps.zerosLike().fill(0.3);
          const outside =
            dtype === "float32" ? new Float32Array(ps.size) : new Float64Array(ps.size);
          outside.fill(0.3);
          for (const g of [inArena, outside]) {
            g[ps.size - 1] = bad; // the scalar tail after whole SIMD groups
            g[2] = bad;
            expect(() => opt.step(g)).toThrow(
              expect.objectContaining({
                code: "KEEL_E_NUMERIC",
                message: expect.stringContaining(
                  `gradient norm is ${Number.isNaN(bad) ? "NaN" : "Infinity"} at step 2`,
                ),
              }),
            );
            expect(snapshot(opt)).toEqual(before);
          }
        }
        // the run goes on from the same state; the EMA of finite weights stays finite
        opt.step(good);
        expect(opt.t).toBe(2);
        ema.update();
        expect(ps.flat.every(Number.isFinite) && ema.shadow.every(Number.isFinite)).toBe(true);
      });

  it("refuses a float64 gradient entry whose square would make v infinite", () => {
    // Σg² passes float64's range from |g| ≈ 1.3e154, but the norm is counted scaled
    // (optim-adamw-overflow.test.ts): unclipped, g² itself would make v infinite, so the step
    // is refused; clipped, the entry becomes the clip and the step goes on
    const ps = new ParamStore(SPECS, "float64");
    const opt = new AdamW(ps, { lr: 0.1 });
    const g = ps.zerosLike();
    g[0] = 1e160;
    expect(() => opt.step(g)).toThrow(/gradient entry 1e\+160 at step 1 squares beyond float64/);
    expect(opt.t).toBe(0);
    g[0] = 1e150;
    expect(opt.step(g).gradNorm).toBe(1e150);
    expect(ps.flat.every(Number.isFinite) && opt.v.every(Number.isFinite)).toBe(true);
  });
});
