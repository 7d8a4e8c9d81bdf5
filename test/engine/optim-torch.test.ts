/**
 * Known answers from PyTorch 1.13.1 (CPU): `torch.optim.AdamW(foreach=False)` with two
 * parameter groups (weight decay on the matrix only), `torch.nn.utils.clip_grad_norm_` over all
 * parameters together, and `LambdaLR` for the schedule. The numbers were computed once by a
 * Python script and are written here, so the test needs no Python. Tolerances: float64 within
 * 1e-13 (measured ≤ 4e-16); float32 within 5e-7 of PyTorch's own float32 run (measured ≤ 3.6e-7,
 * about 1.5 ulp at |θ| ≈ 2).
 *
 * The problem: four tensors (a [2, 3] "embedding", a bias, a layer-norm gain and bias, 16
 * floats, so the SIMD kernel takes whole 4-float groups and JavaScript the tails),
 * p₀[i] = round(sin(0.7i + 0.3), 3) + (1 on the gain), gradient at step k
 * g[i] = round(cos(1.3i + 0.5k)·(1 + k) + (2.5 when i mod 5 = 0), 2), learning rates
 * 0.01, 0.02, 0.005, 0.01 (as a schedule would pass them), β = (0.9, 0.95), ε = 1e-8, λ = 0.1.
 */
import { describe, expect, it } from "vitest";
import { paramSpecs, parseGptConfig } from "../../src/engine/gpt/config.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { cosineLr } from "../../src/engine/optim/schedule.js";
import { ParamStore } from "../../src/engine/params.js";

const SPECS = [
  { name: "emb", shape: [2, 3], init: "zeros" as const },
  { name: "b", shape: [3], init: "zeros" as const },
  { name: "ln.weight", shape: [5], init: "zeros" as const },
  { name: "ln.bias", shape: [2], init: "zeros" as const },
];
const N = 16;
const LRS = [0.01, 0.02, 0.005, 0.01];
const p0 = (i: number) =>
  Math.round(Math.sin(0.7 * i + 0.3) * 1000) / 1000 + (i >= 9 && i < 14 ? 1 : 0);
const grad = (k: number, i: number) =>
  Math.round((Math.cos(1.3 * i + 0.5 * k) * (1 + k) + (i % 5 === 0 ? 2.5 : 0)) * 100) / 100;

function run(dtype: "float32" | "float64", steps: number, beta2: number, maxGradNorm?: number) {
  const ps = new ParamStore(SPECS, dtype);
  for (let i = 0; i < N; i++) ps.flat[i] = p0(i);
  const opt = new AdamW(ps, {
    lr: 0.01,
    beta1: 0.9,
    beta2,
    eps: 1e-8,
    weightDecay: 0.1,
    ...(maxGradNorm === undefined ? {} : { maxGradNorm }),
  });
  const norms: number[] = [];
  for (let k = 0; k < steps; k++) {
    const g = ps.zerosLike(); // in the arena: the SIMD kernel's path for float32
    for (let i = 0; i < N; i++) g[i] = grad(k % 4, i);
    norms.push(opt.step(g, LRS[k % 4]).gradNorm);
  }
  return { ps, opt, norms };
}

function expectNear(got: ArrayLike<number>, want: readonly number[], tol: number) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  expect(worst).toBeLessThan(tol);
}

// torch, float64, clip_grad_norm_(max_norm = 1.5), 4 steps
const T64 = {
  p: [
    0.25020395140385882, 0.84168206158662562, 1.0314796083499136, 0.70034609197838349,
    -0.00038467834095337085, -0.65331584248622754, -0.96215525129272961, -0.83878268637156417,
    -0.35332409416159027, 1.2688226929319835, 1.8064678356416615, 2.0287126561836599,
    1.7069482023891516, 1.0305171571601071, -0.66879263482654772, -1.0236744443747159,
  ],
  m: [
    0.20060576531610014, -0.078206232911158483, -0.10539911957431138, 0.021947933265788967,
    0.11712089827608578, 0.17795202665597795, -0.095274997770596836, -0.091674963334845719,
    0.046198369671410819, 0.11639137206642196, 0.15322209851189847, -0.10769333961643736,
    -0.073626792824313197, 0.068367961564596152, 0.11044784999678693, 0.12789149290699442,
  ],
  v: [
    0.068675491308526154, 0.016991162990466664, 0.018158511772610728, 0.007487212049182455,
    0.024614642179128593, 0.05787957821681064, 0.020787603252471192, 0.013970272256350729,
    0.010771556616305722, 0.023045043901787542, 0.047692785698286097, 0.023495142428937878,
    0.0099632087069109615, 0.01488675736068143, 0.02008168991482813, 0.0388601891824066,
  ],
  // the value clip_grad_norm_ returns: the norm before clipping
  norms: [7.2019788947205337, 9.1266971024571646, 10.357465906291944, 11.254421353405959],
};
// torch, float32, the same run
const T32 = [
  0.250203937, 0.841682076, 1.03147972, 0.700346053, -0.000384679064, -0.653315783, -0.962155163,
  -0.838782728, -0.353324085, 1.26882267, 1.80646801, 2.02871275, 1.70694816, 1.03051722,
  -0.668792605, -1.02367437,
];
describe("AdamW against PyTorch's numbers", () => {
  it("float64: parameters, both moments and the pre-clip norm equal torch's", () => {
    const { ps, opt, norms } = run("float64", 4, 0.95, 1.5);
    expectNear(ps.flat, T64.p, 1e-13);
    expectNear(opt.m, T64.m, 1e-13);
    expectNear(opt.v, T64.v, 1e-13);
    expectNear(norms, T64.norms, 1e-13);
    expect(opt.t).toBe(4);
  });

  it("float32 (SIMD kernel and scalar tails): parameters equal torch's float32 run", () => {
    const { ps } = run("float32", 4, 0.95, 1.5);
    expect(ps.arena).toBeDefined();
    expectNear(ps.flat, T32, 5e-7);
  });

  it("float32: refuses a β whose 1 − β float32 cannot hold (the kernel forms it in float32)", () => {
    // 1 − float32(0.99999) in float32 is 1.0014e-5 (0.14% off): after 40 steps the weights were
    // 2.9e-4 from torch's float32 run (torch's own float32 error is 1.6e-6); above 1 − 2⁻²⁵ it
    // is 0 and v stays 0
    for (const beta2 of [0.99999, 1 - 2 ** -26])
      expect(() => new AdamW(new ParamStore(SPECS), { lr: 0.1, beta2 })).toThrow(
        expect.objectContaining({ code: "KEEL_E_CONFIG", where: { field: "beta2" } }),
      );
    for (const beta2 of [0.95, 0.999, 0.9999])
      expect(() => new AdamW(new ParamStore(SPECS), { lr: 0.1, beta2 })).not.toThrow();
    // float64 parameters take it, and match torch's float64 run
    const f64 = new ParamStore(SPECS, "float64");
    expect(() => new AdamW(f64, { lr: 0.1, beta2: 0.99999 })).not.toThrow();
  });

  it("refuses an ε that is 0 in float32 instead of writing NaN weights", () => {
    // ε = 1e-50 rounded to 0 in the float32 kernel: every entry whose gradient was 0 became
    // 0/(√0 + 0) = NaN, with no error
    const float32 = new ParamStore(SPECS);
    expect(() => new AdamW(float32, { lr: 0.1, eps: 1e-50 })).toThrow(
      expect.objectContaining({ code: "KEEL_E_CONFIG", message: expect.stringMatching(/eps/) }),
    );
    // float64 arithmetic holds it
    const float64 = new ParamStore(SPECS, "float64");
    new AdamW(float64, { lr: 0.1, eps: 1e-50 }).step(float64.zerosLike());
    expect(float64.flat.every(Number.isFinite)).toBe(true);
  });

  it("fails a step whose gradient holds NaN or ∞ and changes nothing (torch would write NaN)", () => {
    // torch's clip_grad_norm_ (error_if_nonfinite=False) returns a NaN norm and scales every
    // gradient by NaN, and AdamW then writes NaN into every weight
    const { ps, opt } = run("float32", 2, 0.95, 1.5);
    const before = [Float32Array.from(ps.flat), Float32Array.from(opt.m), Float32Array.from(opt.v)];
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const g = ps.zerosLike();
      g[7] = bad;
      expect(() => opt.step(g)).toThrow(expect.objectContaining({ code: "KEEL_E_NUMERIC" }));
    }
    expect(opt.t).toBe(2);
    expect([ps.flat, opt.m, opt.v].map((a) => Array.from(a))).toEqual(
      before.map((a) => Array.from(a)),
    );
  });
});

describe("AdamW's weight-decay set on the GPT", () => {
  it("decays every matrix and both embeddings, never a bias or a layer-norm gain", () => {
    // with zero gradients a step only decays: the tensors that moved are the decayed ones
    const specs = paramSpecs(
      parseGptConfig({ vocab: 11, dModel: 8, layers: 1, heads: 2, context: 8 }),
    );
    const ps = new ParamStore(specs);
    ps.flat.fill(1);
    new AdamW(ps, { lr: 0.1, weightDecay: 0.5 }).step(ps.zerosLike());
    const decayed = specs.filter((s) => ps.view(s.name)[0] !== 1).map((s) => s.name);
    expect(decayed).toEqual([
      "wte",
      "wpe",
      "h.0.attn.c_attn.weight",
      "h.0.attn.c_proj.weight",
      "h.0.mlp.c_fc.weight",
      "h.0.mlp.c_proj.weight",
      "value_head.weight",
      "reward_head.weight",
    ]);
    for (const name of decayed) expect(ps.view(name)[0]).toBeCloseTo(0.95, 6);
  });
});

describe("warm-up + cosine against torch's LambdaLR", () => {
  // lr 1e-3, warm-up 4, total 12, min_lr 1e-4. `torch` is the rate LambdaLR gave the t-th
  // optimizer step (0-based) with transformers' get_cosine_with_min_lr_schedule_with_warmup
  // lambda (written out by hand: transformers is not installed here).
  const s = { lr: 1e-3, warmup: 4, total: 12, minLr: 1e-4 };
  const torch = [
    0, 0.00025, 0.0005, 0.00075, 0.001, 0.00096574578963007905, 0.00086819805153394642,
    0.00072220754456429035, 0.00055, 0.0003777924554357096, 0.00023180194846605365,
    0.00013425421036992097,
  ];

  it("equals it from the end of warm-up on; warms up one step ahead (lr/w first, not 0)", () => {
    const keel = torch.map((_, t) => cosineLr(s, t));
    for (let t = s.warmup; t < s.total; t++) expect(keel[t]).toBeCloseTo(torch[t]!, 17);
    // warm-up: keel's step t takes torch's step t + 1, so the first update is not wasted at 0
    // and the peak is held for two steps (t = w − 1 and t = w)
    for (let t = 0; t < s.warmup; t++) expect(keel[t]).toBeCloseTo(torch[t + 1]!, 17);
    expect(keel[0]).toBeCloseTo(s.lr / s.warmup, 17);
    expect(keel[s.warmup - 1]).toBe(s.lr);
  });

  it("the last step of a run is above min_lr; min_lr holds from step `total` on", () => {
    expect(cosineLr(s, s.total - 1)).toBeCloseTo(0.00013425421036992097, 17);
    expect(cosineLr(s, s.total)).toBe(s.minLr);
    expect(cosineLr(s, s.total + 1)).toBe(s.minLr);
  });

  it("without warm-up starts at lr; with total ≤ warm-up never reaches it", () => {
    expect(cosineLr({ ...s, warmup: 0 }, 0)).toBe(s.lr);
    expect(cosineLr({ ...s, warmup: 0 }, 6)).toBeCloseTo(0.00055, 17);
    // a 3-step run with warm-up 4 trains at lr/4, lr/2, 3lr/4 (torch's: 0, lr/4, lr/2)
    const short = { ...s, warmup: 4, total: 3 };
    expect([0, 1, 2].map((t) => cosineLr(short, t))).toEqual([0.00025, 0.0005, 0.00075]);
  });

  it("depends on the step alone, so a resumed run takes the uninterrupted run's rates", () => {
    const fresh = Array.from({ length: 14 }, (_, t) => cosineLr(s, t));
    const resumed = Array.from({ length: 7 }, (_, k) => cosineLr({ ...s }, 7 + k));
    expect(resumed).toEqual(fresh.slice(7));
  });
});
