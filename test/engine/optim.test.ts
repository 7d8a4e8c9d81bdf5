import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { cosineLr } from "../../src/engine/optim/schedule.js";
import { ParamStore } from "../../src/engine/params.js";

const SPECS = [
  { name: "w", shape: [7, 5], init: "normal" as const },
  { name: "b", shape: [5], init: "zeros" as const },
];

/** PyTorch's AdamW (single-tensor path), in float64, with clip_grad_norm_. */
function reference(
  p: Float64Array,
  grads: Float64Array[],
  decayMask: boolean[],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; clip: number },
) {
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g0, k) => {
    const t = k + 1;
    const norm = Math.sqrt(g0.reduce((s, x) => s + x * x, 0));
    const c = Math.min(1, o.clip / (norm + 1e-6));
    for (let i = 0; i < p.length; i++) {
      const g = g0[i]! * c;
      if (decayMask[i]) p[i]! *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g * g;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - o.b2 ** t) + o.eps;
      p[i]! -= (o.lr / (1 - o.b1 ** t)) * (m[i]! / denom);
    }
  });
}

describe("AdamW", () => {
  const o = { lr: 0.05, b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1, clip: 0.5 };

  for (const dtype of ["float32", "float64"] as const) {
    it(`matches PyTorch's update rule with decoupled decay and clipping (${dtype}${dtype === "float32" ? ", SIMD kernel" : ""})`, () => {
      const ps = new ParamStore(SPECS, dtype);
      ps.initialise(new Rng(1));
      const ref = Float64Array.from(ps.flat);
      const decay = Array.from(ref, (_, i) => i < 35);
      const rng = new Rng(2);
      const grads = Array.from({ length: 6 }, () =>
        Float64Array.from({ length: ps.size }, () => rng.normal()),
      );
      const opt = new AdamW(ps, {
        lr: o.lr,
        beta1: o.b1,
        beta2: o.b2,
        eps: o.eps,
        weightDecay: o.wd,
        maxGradNorm: o.clip,
      });
      for (const g of grads) {
        const buf = ps.zerosLike();
        buf.set(g);
        const info = opt.step(buf);
        expect(info.gradNorm).toBeGreaterThan(o.clip);
      }
      reference(ref, grads, decay, o);
      const tol = dtype === "float32" ? 1e-5 : 1e-12;
      let worst = 0;
      ps.flat.forEach((x, i) => {
        worst = Math.max(worst, Math.abs(x - ref[i]!));
      });
      expect(worst).toBeLessThan(tol);
      expect(opt.t).toBe(6);
    });
  }

  it("defaults to torch's settings: β (0.9, 0.999), ε 1e-8, weight decay 0.01, no clipping", () => {
    const ps = new ParamStore(SPECS, "float64");
    ps.initialise(new Rng(4));
    const ref = Float64Array.from(ps.flat);
    const rng = new Rng(5);
    // small gradients, so that ε and the moments' mix both show in the update
    const grads = Array.from({ length: 5 }, () =>
      Float64Array.from({ length: ps.size }, () => rng.normal() * 1e-6),
    );
    const opt = new AdamW(ps, { lr: 0.01 });
    for (const g of grads) opt.step(Float64Array.from(g));
    const torch = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01, clip: Infinity };
    reference(
      ref,
      grads,
      Array.from(ref, (_, i) => i < 35),
      torch,
    );
    ps.flat.forEach((x, i) => {
      expect(Math.abs(x - ref[i]!)).toBeLessThan(1e-12);
    });
  });

  it("leaves biases undecayed: with zero gradients only matrices shrink", () => {
    const ps = new ParamStore(SPECS);
    ps.initialise(new Rng(3));
    ps.view("b").fill(1);
    const before = Float64Array.from(ps.flat);
    const opt = new AdamW(ps, { lr: 0.1, weightDecay: 0.5 });
    opt.step(ps.zerosLike());
    expect(Array.from(ps.view("b"))).toEqual([1, 1, 1, 1, 1]);
    const w = Array.from(ps.view("w"));
    const want = Array.from(before.subarray(0, 35), (x) => Math.fround(x * (1 - 0.05)));
    w.forEach((x, i) => {
      expect(x).toBeCloseTo(want[i]!, 6);
    });
  });

  it("reports the global gradient norm (SIMD path, odd length) like a float64 sum", () => {
    const ps = new ParamStore([{ name: "x", shape: [1027], init: "zeros" }]);
    const g = ps.zerosLike();
    const rng = new Rng(8);
    let sq = 0;
    for (let i = 0; i < g.length; i++) {
      g[i] = rng.normal() * 10;
      sq += g[i]! * g[i]!;
    }
    expect(ps.arena!.owns(g)).toBe(true);
    // float32 partial sums within 256-element chunks: relative error ~1e-7
    const norm = new AdamW(ps, { lr: 0 }).step(g).gradNorm;
    expect(Math.abs(norm / Math.sqrt(sq) - 1)).toBeLessThan(1e-6);
  });

  it("clips a finite gradient too large for a float32 sum of squares, SIMD or not", () => {
    // 1e20² overflows float32: the SIMD norm reported Infinity and refused a gradient that the
    // scalar path (float64 sums) clipped
    const specs = [{ name: "w", shape: [4, 2], init: "ones" as const }];
    const [a, b] = [new ParamStore(specs), new ParamStore(specs)];
    const ga = a.zerosLike();
    ga[0] = 1e20;
    ga[5] = -3e19;
    const gb = Float32Array.from(ga); // outside the arena: the scalar path
    const ia = new AdamW(a, { lr: 0.1, maxGradNorm: 1 }).step(ga);
    const ib = new AdamW(b, { lr: 0.1, maxGradNorm: 1 }).step(gb);
    expect(ia.gradNorm).toBeCloseTo(ib.gradNorm, -14);
    expect(ia.gradNorm / Math.hypot(1e20, 3e19)).toBeCloseTo(1, 6);
    // the kernel's float32 arithmetic against the scalar loop's float64 (as the test above)
    a.flat.forEach((x, i) => {
      expect(Math.abs(x - b.flat[i]!)).toBeLessThan(1e-5);
    });
    expect(a.flat[0]).toBeCloseTo(-0.1, 5);
  });

  it("refuses a gradient whose square overflows the float32 moments, leaving the state as it was", () => {
    // unclipped, g = 1e21 made v = (1 − β₂)·g² = Infinity: the parameter froze (m / ∞ = 0) and
    // the checkpoint's moments were refused at load
    const ps = new ParamStore(SPECS);
    ps.initialise(new Rng(4));
    const before = Float32Array.from(ps.flat);
    const opt = new AdamW(ps, { lr: 0.1 });
    for (const g of [new Float32Array(ps.size), ps.zerosLike()]) {
      g[2] = 1e21;
      expect(() => opt.step(g)).toThrow(/float32/);
      expect(opt.t).toBe(0);
      expect(opt.v.every((x) => x === 0)).toBe(true);
      expect(Array.from(ps.flat)).toEqual(Array.from(before));
    }
    // a large gradient whose square still fits takes its step
    const ok = ps.zerosLike();
    ok[2] = 1e18;
    opt.step(ok);
    expect(opt.v.every(Number.isFinite)).toBe(true);
  });

  it("refuses options that would poison every step (β = 1, ε ≤ 0, a negative clip, a bad lr)", () => {
    // β₁ = 1 divided by 1 − β₁ᵗ = 0 (NaN weights); a negative clip turned descent into ascent
    const ps = new ParamStore(SPECS);
    for (const bad of [
      { beta1: 1 },
      { beta2: 1 },
      { beta1: -0.1 },
      { eps: 0 },
      { weightDecay: -1 },
      { maxGradNorm: -1 },
      { lr: Number.NaN },
      { lr: -0.1 },
    ]) {
      expect(() => new AdamW(ps, { lr: 0.1, ...bad })).toThrow(
        expect.objectContaining({ code: "KEEL_E_CONFIG" }),
      );
    }
    const opt = new AdamW(ps, { lr: 0.1 });
    const before = Float32Array.from(ps.flat);
    const g = ps.zerosLike().fill(1);
    for (const lr of [Number.NaN, Number.POSITIVE_INFINITY, -1])
      expect(() => opt.step(g, lr)).toThrow(expect.objectContaining({ code: "KEEL_E_NUMERIC" }));
    expect(opt.t).toBe(0);
    expect(Array.from(ps.flat)).toEqual(Array.from(before));
  });

  it("refuses a non-finite gradient", () => {
    const ps = new ParamStore(SPECS);
    const g = ps.zerosLike();
    g[3] = Number.NaN;
    expect(() => new AdamW(ps, { lr: 0.1 }).step(g)).toThrow(/gradient norm/);
  });
});

describe("warm-up + cosine schedule", () => {
  const s = { lr: 1, warmup: 10, total: 110, minLr: 0.1 };
  it("rises linearly, peaks, decays by the cosine to the floor", () => {
    expect(cosineLr(s, 0)).toBeCloseTo(0.1, 12);
    expect(cosineLr(s, 9)).toBeCloseTo(1, 12);
    expect(cosineLr(s, 10)).toBeCloseTo(1, 12);
    expect(cosineLr(s, 60)).toBeCloseTo(0.55, 12);
    expect(cosineLr(s, 110)).toBe(0.1);
    for (let t = 10; t < 110; t++) expect(cosineLr(s, t + 1)).toBeLessThanOrEqual(cosineLr(s, t));
  });
});

describe("cosine schedule without minLr", () => {
  it("decays to 0, as torch's eta_min = 0", () => {
    const s = { lr: 2, warmup: 0, total: 10 };
    expect(cosineLr(s, 0)).toBe(2);
    expect(cosineLr(s, 5)).toBeCloseTo(1, 12);
    expect(cosineLr(s, 10)).toBe(0);
    expect(cosineLr(s, 50)).toBe(0);
  });
});

describe("EMA", () => {
  it("refuses a decay outside [0, 1]", () => {
    const ps = new ParamStore([{ name: "x", shape: [2], init: "zeros" }], "float64");
    for (const d of [-0.1, 1.5, Number.NaN])
      expect(() => new Ema(ps, d)).toThrow(/EMA decay must be in \[0, 1\]/);
    expect(() => new Ema(ps, 0)).not.toThrow();
    expect(() => new Ema(ps, 1)).not.toThrow();
  });

  it("tracks d·ē + (1−d)·θ and swaps in place", () => {
    const ps = new ParamStore([{ name: "x", shape: [2], init: "zeros" }], "float64");
    const ema = new Ema(ps, 0.5);
    ps.flat.set([2, 4]);
    ema.update();
    expect(Array.from(ema.shadow)).toEqual([1, 2]);
    const v = ps.version;
    ema.swap();
    expect(Array.from(ps.flat)).toEqual([1, 2]);
    expect(ps.version).toBe(v + 1);
    ema.swap();
    expect(Array.from(ps.flat)).toEqual([2, 4]);
  });
});
