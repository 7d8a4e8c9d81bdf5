/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019, arXiv:1711.05101), step for step as PyTorch's `torch.optim.AdamW`:
 *
 *   θ ← θ·(1 − η·λ)                       (decay, only on tensors selected by `decay`)
 *   m ← β₁·m + (1 − β₁)·g                 v ← β₂·v + (1 − β₂)·g²
 *   θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 *
 * with g optionally rescaled first by global-norm clipping (as `clip_grad_norm_`):
 * g ← g · min(1, c / (‖g‖₂ + 1e-6)). The clip factor is folded into the update loop, so a
 * step is two passes over the flat arrays (norm, update). State (m, v, t) is flat, in the
 * ParamStore layout, and is what a checkpoint saves for resume. A step whose gradient norm is
 * not finite, or whose (clipped) entries would square beyond float32 in float32 moments, is
 * refused (KEEL_E_NUMERIC) before any state changes. The norm of finite entries is finite
 * (see `l2norm`): clipping a float64 gradient of 1e160 scales it to the clip, where a plain
 * Σg² would be ∞ and `clip_grad_norm_` would multiply it by c / ∞ = 0.
 *
 * Default decay set, as nanoGPT: every parameter of rank ≥ 2 (matrices, embeddings, the
 * [C, 1] value and reward head weights), no biases or layer-norm gains. One difference from
 * PyTorch: torch skips a parameter whose `.grad` is None (a head the loss never reached); here
 * every tensor gets a gradient, zero for an unused head, so a decayed unused head still shrinks
 * by (1 − η·λ) per step (its Adam term is 0). One global t drives bias correction, as torch's
 * per-parameter counts when every parameter steps every time.
 */
import { KeelError } from "../../core/errors.js";
import type { FloatArray, ParamStore } from "../params.js";
import { simdKernels } from "./simd.js";

export interface AdamWOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  /** Clip the global gradient norm to this value (off when undefined). */
  readonly maxGradNorm?: number;
  /** Which parameters get weight decay (default: rank ≥ 2). */
  readonly decay?: (name: string, shape: readonly number[]) => boolean;
}

export interface StepInfo {
  /** Global L2 norm of the gradient before clipping. */
  readonly gradNorm: number;
  readonly lr: number;
}

/**
 * ‖x‖₂, with four partial sums (twice as fast as one in V8, and slightly more accurate). Σx²
 * leaves float64's range from |x| ≈ 1.3e154, and squares below 1.5e-154 lose bits or vanish;
 * a sum outside [2⁻⁹⁶⁹, float64 max] is counted again scaled by max |x| (as BLAS dnrm2 keeps
 * the norm of finite entries finite), so the common case stays one pass. An entry that is NaN
 * or ±∞ gives NaN or ∞.
 */
export function l2norm(x: FloatArray): number {
  const s = sumOfSquares(x);
  return s >= SUMSQ_SAFE_MIN && s < Number.POSITIVE_INFINITY ? Math.sqrt(s) : scaledNorm(x, s);
}

/**
 * Below this sum a square may have been subnormal (|x| < 2⁻⁵¹¹) with bits lost that matter
 * to the total: 2⁻¹⁰²² · 2⁵³.
 */
const SUMSQ_SAFE_MIN = 2 ** -969;

/** ‖x‖₂ as max |x| · ‖x / max |x|‖₂, given Σx² = `s` (NaN when an entry is NaN). */
function scaledNorm(x: FloatArray, s: number): number {
  if (Number.isNaN(s)) return s;
  let big = 0;
  for (let i = 0; i < x.length; i++) big = Math.max(big, Math.abs(x[i]!));
  if (big === 0 || big === Number.POSITIVE_INFINITY) return big;
  // a division, not a product with 1 / big: that reciprocal overflows for a subnormal big
  let t = 0;
  for (let i = 0; i < x.length; i++) t += (x[i]! / big) ** 2;
  return big * Math.sqrt(t);
}

/** Σx², with four partial sums. */
function sumOfSquares(x: FloatArray): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = x.length - (x.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += x[i]! * x[i]!;
    s1 += x[i + 1]! * x[i + 1]!;
    s2 += x[i + 2]! * x[i + 2]!;
    s3 += x[i + 3]! * x[i + 3]!;
  }
  for (let i = n4; i < x.length; i++) s0 += x[i]! * x[i]!;
  return s0 + s1 + s2 + s3;
}

/** ‖x‖₂ with the SIMD kernel over whole 4-float groups and JavaScript for the tail. */
function simdNorm(sumsq: (ptr: number, nbytes: number) => number, x: FloatArray): number {
  const n4 = x.length - (x.length % 4);
  let s = sumsq(x.byteOffset, n4 * 4);
  for (let i = n4; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

export class AdamW {
  readonly m: FloatArray;
  readonly v: FloatArray;
  t = 0;
  lr: number;
  private readonly ranges: { start: number; end: number; decay: boolean }[];
  private readonly kernels: ReturnType<typeof simdKernels>;

  constructor(
    readonly params: ParamStore,
    readonly opts: AdamWOptions,
  ) {
    checkOptions(opts, params.dtype);
    this.m = params.zerosLike();
    this.v = params.zerosLike();
    this.lr = opts.lr;
    const arena = params.arena;
    this.kernels =
      arena?.owns(this.m) && arena.owns(this.v) ? simdKernels(arena.memory) : undefined;
    const decay = opts.decay ?? ((_n: string, shape: readonly number[]) => shape.length >= 2);
    this.ranges = params.specs.map((s) => {
      const [o, n] = params.range(s.name);
      return { start: o, end: o + n, decay: decay(s.name, s.shape) };
    });
  }

  /** One update of every parameter from the flat gradient `grad` (left unmodified). */
  step(grad: FloatArray, lr = this.lr): StepInfo {
    const p = this.params.flat;
    if (grad.length !== p.length) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `gradient has ${grad.length} entries, parameters ${p.length}`,
      );
    }
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new KeelError("KEEL_E_NUMERIC", `learning rate ${lr} at step ${this.t + 1}`, {
        hint: "a learning rate is a finite number ≥ 0; check the schedule's settings",
      });
    }
    const simd = this.kernels && this.params.arena!.owns(grad) ? this.kernels : undefined;
    let gradNorm = simd ? simdNorm(simd.sumsq, grad) : l2norm(grad);
    // the SIMD sums square in float32, which overflows from |g| ≈ 1.8e19: recount in float64
    // before calling a finite gradient infinite (clipping may well bring it back); squares
    // below 1.2e-38 are subnormal there, which matters only to a norm this small
    if (simd && !(gradNorm >= SIMD_NORM_MIN && gradNorm < Number.POSITIVE_INFINITY))
      gradNorm = l2norm(grad);
    if (!Number.isFinite(gradNorm)) {
      throw new KeelError("KEEL_E_NUMERIC", `gradient norm is ${gradNorm} at step ${this.t + 1}`, {
        hint: "lower the learning rate or check the loss for overflow",
      });
    }
    const clip = this.opts.maxGradNorm;
    const scale = clip !== undefined ? Math.min(1, clip / (gradNorm + 1e-6)) : 1;
    this.checkSquares(grad, gradNorm, scale);
    this.t += 1;
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.eps ?? 1e-8;
    const wd = this.opts.weightDecay ?? 0.01;
    const stepSize = lr / (1 - b1 ** this.t);
    const bc2 = 1 / Math.sqrt(1 - b2 ** this.t);
    const { m, v } = this;
    for (const r of this.ranges) {
      const keep = r.decay ? 1 - lr * wd : 1;
      let start = r.start;
      if (simd) {
        const n4 = (r.end - r.start) & ~3;
        const at = (a: FloatArray) => a.byteOffset + r.start * 4;
        simd.adamw(at(p), at(grad), at(m), at(v), n4 * 4, b1, b2, keep, stepSize, bc2, eps, scale);
        start += n4;
      }
      for (let i = start; i < r.end; i++) {
        const g = grad[i]! * scale;
        const mi = b1 * m[i]! + (1 - b1) * g;
        const vi = b2 * v[i]! + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! * keep - (stepSize * mi) / (Math.sqrt(vi) * bc2 + eps);
      }
    }
    this.params.touch();
    return { gradNorm, lr };
  }

  /**
   * The moments hold v = β₂v + (1 − β₂)g², which stays finite while every scaled g² is a
   * number of their type (v is then a mix of finite values): float32's from |g| ≈ 1.8e19, and
   * float64's from 1.3e154, which a finite norm (see `l2norm`) no longer rules out. A larger entry would make v infinite: its
   * parameter would stop moving (m / ∞ = 0) and the checkpoint's moments would be refused at
   * load, so the step is refused before anything changes. ‖g‖ bounds every entry, so the
   * scan runs only when the norm is that large.
   */
  private checkSquares(grad: FloatArray, gradNorm: number, scale: number): void {
    const f32 = this.v instanceof Float32Array;
    const limit = f32 ? F32_SQRT_MAX : F64_SQRT_MAX;
    if (gradNorm * scale <= limit) return;
    let big = 0;
    for (let i = 0; i < grad.length; i++) big = Math.max(big, Math.abs(grad[i]!));
    if (big * scale > limit) {
      throw new KeelError(
        "KEEL_E_NUMERIC",
        `gradient entry ${big * scale} at step ${this.t + 1} squares beyond ` +
          `${f32 ? "float32" : "float64"}'s range, so Adam's second moment would become infinite`,
        { hint: "set maxGradNorm (max_grad_norm) or lower the learning rate" },
      );
    }
  }
}

/**
 * Options outside these ranges poison every step: β = 1 divides by 1 − βᵗ = 0, ε ≤ 0 divides
 * by zero where v = 0, a negative clip or learning rate climbs the loss instead of descending.
 * ε below float32's smallest number is 0 in float32 arithmetic (the SIMD kernel's, and
 * PyTorch's): every entry whose gradient was 0 so far became 0/0 = NaN, silently.
 */
function checkOptions(o: AdamWOptions, dtype: "float32" | "float64"): void {
  if (dtype === "float32") checkFloat32Betas(o);
  if (dtype === "float32" && o.eps !== undefined && o.eps > 0 && Math.fround(o.eps) === 0) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `AdamW option eps is ${o.eps}, which is 0 in float32, the parameters' type: every ` +
        "parameter whose gradient is 0 would become 0/0 = NaN",
      { where: { field: "eps" }, hint: "use eps ≥ 1.4e-45, the smallest float32 (1e-8 is usual)" },
    );
  }
  const ranges: [keyof AdamWOptions, number | undefined, (x: number) => boolean, string][] = [
    ["lr", o.lr, (x) => x >= 0, "≥ 0"],
    ["beta1", o.beta1, (x) => x >= 0 && x < 1, "in [0, 1)"],
    ["beta2", o.beta2, (x) => x >= 0 && x < 1, "in [0, 1)"],
    ["eps", o.eps, (x) => x > 0, "> 0"],
    ["weightDecay", o.weightDecay, (x) => x >= 0, "≥ 0"],
    ["maxGradNorm", o.maxGradNorm, (x) => x > 0, "> 0"],
  ];
  for (const [field, x, ok, want] of ranges) {
    if (x !== undefined && !(Number.isFinite(x) && ok(x))) {
      throw new KeelError("KEEL_E_CONFIG", `AdamW option ${field} is ${x}; it must be ${want}`, {
        where: { field },
      });
    }
  }
}

/** √(largest float32): a larger number squares to infinity in float32. */
const F32_SQRT_MAX = Math.sqrt(3.4028234663852886e38);
/** The same for float64 moments. */
const F64_SQRT_MAX = Math.sqrt(Number.MAX_VALUE);
/** A SIMD norm below this is counted again in float64 (see `step`). */
const SIMD_NORM_MIN = 1e-12;

/**
 * The SIMD kernel (simd.ts) forms 1 − β in float32 from float32(β), which keeps about
 * 2⁻²⁴/(1 − β) of relative accuracy: within 1e-6 for the usual β (0.9, 0.95, 0.999), 0.14% at
 * β₂ = 0.99999, and 0 above 1 − 2⁻²⁵, where v stays 0 and every step divides by ε. A β whose
 * complement is off by more than 0.1% is refused rather than trained on inaccurately. (The
 * complement computed in float64, as PyTorch passes it, changes every float32 result in the last
 * bit: the measured figures in the docs would then be run again.)
 */
function checkFloat32Betas(o: AdamWOptions): void {
  for (const [field, beta] of [
    ["beta1", o.beta1],
    ["beta2", o.beta2],
  ] as const) {
    if (beta === undefined || !(beta >= 0 && beta < 1)) continue; // the range check says why
    const complement = Math.fround(1 - Math.fround(beta));
    if (Math.abs(complement - (1 - beta)) <= 1e-3 * (1 - beta)) continue;
    throw new KeelError(
      "KEEL_E_CONFIG",
      `AdamW option ${field} is ${beta}: float32 parameters hold 1 − ${field} only as ${complement}`,
      { where: { field }, hint: `use ${field} ≤ 0.9999, or float64 parameters` },
    );
  }
}
