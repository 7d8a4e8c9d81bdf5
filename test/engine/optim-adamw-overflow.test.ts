/**
 * The global gradient norm of finite float64 entries is finite. A plain Σg² passes float64's
 * range from |g| ≈ 1.3e154 (and loses small entries below 1.5e-154): clipping by it, as
 * torch's `clip_grad_norm_` does, scales every entry by c / ∞ = 0, so the step moves nothing.
 * `l2norm` counts such sums again scaled by max |g|, as BLAS dnrm2 does.
 */
import { describe, expect, it } from "vitest";
import { AdamW, l2norm } from "../../src/engine/optim/adamw.js";
import { ParamStore } from "../../src/engine/params.js";

/** The formula the optimiser used before: √Σx². */
const plainNorm = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
};

describe("l2norm", () => {
  it("is finite and right for entries whose squares overflow", () => {
    const x = new Float64Array(7).fill(1e160); // ‖x‖ = √7 · 1e160
    x[3] = -3e160;
    expect(plainNorm(x)).toBe(Number.POSITIVE_INFINITY);
    const want = Math.sqrt(6 + 9) * 1e160;
    expect(l2norm(x) / want).toBeCloseTo(1, 14);
    // a single entry near float64's largest: its norm is itself
    expect(l2norm(Float64Array.of(0, 1.7e308, 0, 0, 0))).toBe(1.7e308);
  });

  it("keeps entries whose squares underflow", () => {
    const x = Float64Array.of(3e-170, 4e-170);
    expect(plainNorm(x)).toBe(0);
    expect(l2norm(x) / 5e-170).toBeCloseTo(1, 14);
  });

  it("is the plain norm in the common case, NaN or ∞ for such an entry, 0 for zeros", () => {
    const x = Float64Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e-3);
    expect(l2norm(x) / plainNorm(x)).toBeCloseTo(1, 14);
    expect(l2norm(Float64Array.of(1, Number.NaN, 1e200))).toBeNaN();
    expect(l2norm(Float64Array.of(1, Number.NEGATIVE_INFINITY, 1e200))).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(l2norm(new Float64Array(9))).toBe(0);
    expect(l2norm(Float32Array.of(3e-30, 4e-30)) / 5e-30).toBeCloseTo(1, 6);
  });
});

describe("AdamW clipping a float64 gradient of 1e160", () => {
  it("clips it to the clip norm and moves the weights, as a gradient of 1 would", () => {
    const specs = [{ name: "w", shape: [4, 3], init: "zeros" as const }];
    const huge = new ParamStore(specs, "float64");
    const unit = new ParamStore(specs, "float64");
    const a = new AdamW(huge, { lr: 0.1, maxGradNorm: 1, weightDecay: 0 });
    const b = new AdamW(unit, { lr: 0.1, maxGradNorm: 1, weightDecay: 0 });
    const g = huge.zerosLike();
    g[0] = 1e160;
    g[5] = -1e160;
    const info = a.step(g);
    expect(info.gradNorm / (Math.SQRT2 * 1e160)).toBeCloseTo(1, 14);
    b.step(g.map((x) => x / 1e160)); // norm √2, clipped alike
    expect(huge.flat[0]).toBeLessThan(0);
    expect(huge.flat[5]).toBeGreaterThan(0);
    for (let i = 0; i < huge.size; i++) expect(huge.flat[i]).toBeCloseTo(unit.flat[i]!, 12);
    expect(a.v.every(Number.isFinite)).toBe(true);
  });
});
