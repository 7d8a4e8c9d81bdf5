/**
 * Every loss of src/train in one explicit list, with a generator of typical inputs, so that
 * the test suite checks each analytic gradient against central finite differences (and a new
 * loss added here is checked without writing a new test). Trainers pick losses from the typed
 * registries (`REWARD_LOSSES`, `DPO_LOSSES`); this list adds the PPO terms and KL estimators.
 */
import type { Rng } from "../../core/rng.js";
import { DPO_LOSS_TYPES, DPO_LOSSES } from "./dpo.js";
import { KL_ESTIMATORS, klPerToken } from "./kl.js";
import { clippedPolicyLoss, clippedValueLoss, entropyBonus } from "./ppo.js";
import { REWARD_LOSSES } from "./reward.js";
import type { LossResult } from "./types.js";

export interface LossCase {
  /** Inputs; the differentiable ones are perturbed by the check. */
  readonly inputs: Record<string, Float64Array>;
  readonly wrt: readonly string[];
  readonly run: (inputs: Record<string, Float64Array>) => LossResult;
}

export interface LossEntry {
  readonly name: string;
  readonly example: (rng: Rng) => LossCase;
}

const vec = (rng: Rng, n: number, f: (rng: Rng) => number) =>
  Float64Array.from({ length: n }, () => f(rng));
const normal = (s: number) => (r: Rng) => r.normal(0, s);
const weights = (rng: Rng, n: number) => vec(rng, n, (r) => r.uniform(0.2, 2));
const signs = (rng: Rng, n: number) => vec(rng, n, (r) => (r.bernoulli(0.5) ? 1 : -1));
const mask = (rng: Rng, n: number) => vec(rng, n, (r) => (r.bernoulli(0.8) ? 1 : 0));

const rewardEntries: LossEntry[] = [
  {
    name: "reward/bradley_terry (margin, centring, weights)",
    example: (rng) => ({
      inputs: {
        chosen: vec(rng, 8, normal(1.5)),
        rejected: vec(rng, 8, normal(1.5)),
        weight: weights(rng, 8),
        margin: vec(rng, 8, (r) => r.uniform(0, 1)),
      },
      wrt: ["chosen", "rejected"],
      run: (x) => REWARD_LOSSES.bradley_terry(x as never, { centring: 0.05 }),
    }),
  },
  {
    name: "reward/bradley_terry (label smoothing 0.15, centring, weights)",
    example: (rng) => ({
      inputs: {
        chosen: vec(rng, 8, normal(1.5)),
        rejected: vec(rng, 8, normal(1.5)),
        weight: weights(rng, 8),
      },
      wrt: ["chosen", "rejected"],
      run: (x) => REWARD_LOSSES.bradley_terry(x as never, { centring: 0.05, labelSmoothing: 0.15 }),
    }),
  },
  {
    name: "reward/safe_rlhf_cost",
    example: (rng) => ({
      inputs: {
        chosen: vec(rng, 8, normal(1.5)),
        rejected: vec(rng, 8, normal(1.5)),
        weight: weights(rng, 8),
        chosenSign: signs(rng, 8),
        rejectedSign: signs(rng, 8),
      },
      wrt: ["chosen", "rejected"],
      run: (x) => REWARD_LOSSES.safe_rlhf_cost(x as never),
    }),
  },
];

const dpoEntries: LossEntry[] = DPO_LOSS_TYPES.map((type) => ({
  name: `dpo/${type}`,
  example: (rng) => ({
    inputs: {
      policyChosen: vec(rng, 8, (r) => r.normal(-20, 3)),
      policyRejected: vec(rng, 8, (r) => r.normal(-20, 3)),
      refChosen: vec(rng, 8, (r) => r.normal(-20, 3)),
      refRejected: vec(rng, 8, (r) => r.normal(-20, 3)),
      weight: weights(rng, 8),
    },
    wrt: ["policyChosen", "policyRejected"],
    run: (x) => DPO_LOSSES[type](x as never, { beta: 0.1, labelSmoothing: 0.1 }),
  }),
}));

const ppoEntries: LossEntry[] = [
  {
    name: "ppo/clipped_policy",
    example: (rng) => {
      const old = vec(rng, 24, (r) => r.uniform(-4, -0.1));
      return {
        inputs: {
          logprobs: Float64Array.from(old, (x) => x + rng.normal(0, 0.3)),
          oldLogprobs: old,
          advantages: vec(rng, 24, normal(1)),
          mask: mask(rng, 24),
        },
        wrt: ["logprobs"],
        run: (x) => clippedPolicyLoss(x as never, { clip: 0.2 }),
      };
    },
  },
  {
    name: "ppo/clipped_value",
    example: (rng) => {
      const old = vec(rng, 24, normal(1));
      return {
        inputs: {
          values: Float64Array.from(old, (x) => x + rng.normal(0, 0.4)),
          oldValues: old,
          returns: vec(rng, 24, normal(1)),
          mask: mask(rng, 24),
        },
        wrt: ["values"],
        run: (x) => clippedValueLoss(x as never, { clip: 0.2 }),
      };
    },
  },
  {
    name: "ppo/entropy_bonus",
    example: (rng) => ({
      inputs: { entropy: vec(rng, 24, (r) => r.uniform(0, 3)), mask: mask(rng, 24) },
      wrt: ["entropy"],
      run: (x) => entropyBonus(x as never, { coef: 0.01 }),
    }),
  },
];

/** KL estimators as a loss: the summed estimate, so its gradient is the per-token derivative. */
const klEntries: LossEntry[] = KL_ESTIMATORS.map((est) => ({
  name: `kl/${est}`,
  example: (rng) => {
    const ref = vec(rng, 24, (r) => r.uniform(-4, -0.1));
    return {
      inputs: {
        logprobs: Float64Array.from(ref, (x) => x + rng.normal(0, 0.5)),
        refLogprobs: ref,
        mask: mask(rng, 24),
      },
      wrt: ["logprobs"],
      run: (x) => {
        const r = klPerToken(est, x.logprobs!, x.refLogprobs!, x.mask!, 10);
        return { loss: r.kl.reduce((a, b) => a + b, 0), grads: { logprobs: r.grad }, metrics: {} };
      },
    };
  },
}));

export const LOSS_CHECKS: readonly LossEntry[] = [
  ...rewardEntries,
  ...dpoEntries,
  ...ppoEntries,
  ...klEntries,
];
