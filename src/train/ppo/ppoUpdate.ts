/**
 * PPO's optimisation phase for one rollout: `epochs` passes over the rollout in minibatches
 * (rows shuffled per epoch by Rng(seed/iter).fork("epoch-e")), each a forward pass through the
 * policy graph (log-probs, values, entropy), the clipped policy loss + vf_coef × clipped value
 * loss − ent_coef × entropy (losses/ppo.ts), their gradients fed back through the same graph,
 * and an AdamW step. Guards: a minibatch whose mean ratio exceeds `ratio_threshold` is skipped
 * (its update would be a loss spike, as TRL does), and the remaining epochs are skipped once an
 * epoch's mean approx KL to the rollout policy exceeds 1.5 × target_kl (as OpenAI baselines).
 * In Lagrangian mode the separate cost critic takes a value-loss step on the same minibatch.
 */
import { Rng } from "../../core/rng.js";
import type { Gpt } from "../../engine/gpt/model.js";
import type { AdamW } from "../../engine/optim/adamw.js";
import type { FloatArray } from "../../engine/params.js";
import { asModelDtype } from "../common/model.js";
import { type LossCeiling, optimizerStep } from "../common/numeric.js";
import type { Metrics } from "../common/run.js";
import { clippedPolicyLoss, clippedValueLoss, entropyBonus } from "../losses/ppo.js";
import { type PolicyHead, policyBackward, policyForward } from "./policyGraphs.js";
import type { PpoConfig } from "./ppoConfig.js";
import { type Rollout, subBatch } from "./rollout.js";

export interface UpdateTargets {
  readonly oldLogprobs: Float64Array;
  /** Old values aligned with actions ([B, T], see rollout.alignValues). */
  readonly oldValues: Float64Array;
  readonly advantages: Float64Array;
  readonly returns: Float64Array;
  /** Lagrangian mode: the cost critic's old values and returns. */
  readonly cost?: { readonly oldValues: Float64Array; readonly returns: Float64Array };
}

export interface Learner {
  readonly model: Gpt;
  readonly opt: AdamW;
  readonly grad: FloatArray;
}

/** d_values at position t − 1 for an action at t (the value head's alignment). */
function shiftBack(action: ArrayLike<number>, g: ArrayLike<number>): Float64Array {
  const out = new Float64Array(g.length);
  for (let i = 1; i < g.length; i++) if (action[i] !== 0) out[i - 1] = g[i]!;
  return out;
}

function aligned(action: ArrayLike<number>, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 1; i < v.length; i++) if (action[i] !== 0) out[i] = v[i - 1]!;
  return out;
}

type SubBatch = ReturnType<typeof subBatch>;

/**
 * The value loss's ceiling: ½·mean (|V_old| + |R| + ε_v)² over the minibatch's actions, the
 * scale of the old values, the returns and the value clip together (the value loss has no
 * know-nothing value of its own: a critic that predicts 0 has loss 0 where returns are 0). A
 * value loss 100 times that has a critic that moved, within one iteration, ten times further
 * than everything it was fitted to.
 */
function valueCeiling(
  mask: ArrayLike<number>,
  oldValues: ArrayLike<number>,
  returns: ArrayLike<number>,
  clip: number,
): LossCeiling {
  let s = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    s += mask[i]! * 0.5 * (Math.abs(oldValues[i]!) + Math.abs(returns[i]!) + clip) ** 2;
    n += mask[i]!;
  }
  return {
    baseline: n > 0 ? s / n : 0,
    rule: "½·mean (|old value| + |return| + value_clip)² over the minibatch's tokens",
  };
}

/**
 * One minibatch's clipped policy + value (+ entropy) loss, fed back through the policy graph,
 * and an AdamW step. Without `metrics` the ratio guard skipped the step (nothing changed).
 */
async function policyStep(
  c: PpoConfig,
  sub: SubBatch,
  mask: Float64Array,
  t: UpdateTargets,
  policy: Learner,
  heads: PolicyHead[],
  lr: number,
  place: string,
): Promise<{ approxKl: number; ratioMax: number; metrics?: Metrics }> {
  const out = await policyForward(policy.model, sub.batch, heads);
  const pl = clippedPolicyLoss(
    {
      logprobs: out.logprobs!,
      oldLogprobs: sub.take(t.oldLogprobs),
      advantages: sub.take(t.advantages),
      mask,
    },
    { clip: c.ppo.clip },
  );
  const seen = { approxKl: pl.metrics.approx_kl!, ratioMax: pl.metrics.ratio_max! };
  if (pl.metrics.ratio_mean! > c.ppo.ratio_threshold) return seen;
  const oldValues = sub.take(t.oldValues);
  const returns = sub.take(t.returns);
  const vl = clippedValueLoss(
    { values: aligned(mask, out.values!), oldValues, returns, mask },
    { clip: c.ppo.value_clip },
  );
  const d: Partial<Record<PolicyHead, FloatArray>> = {
    logprobs: asModelDtype(policy.model, pl.grads.logprobs!),
    values: asModelDtype(
      policy.model,
      shiftBack(
        mask,
        vl.grads.values!.map((g) => g * c.ppo.vf_coef),
      ),
    ),
  };
  const metrics: Metrics = {};
  let entLoss = 0;
  if (out.entropy) {
    const en = entropyBonus({ entropy: out.entropy, mask }, { coef: c.ppo.ent_coef });
    d.entropy = asModelDtype(policy.model, en.grads.entropy!);
    entLoss = en.loss;
    metrics.entropy = en.metrics.entropy!;
  }
  const grad = await policyBackward(policy.model, sub.batch, d, policy.grad);
  const info = optimizerStep(
    policy.opt,
    grad,
    lr,
    place,
    { policy_loss: pl.loss, value_loss: vl.loss, entropy_loss: entLoss },
    { value_loss: valueCeiling(mask, oldValues, returns, c.ppo.value_clip) },
  );
  return {
    ...seen,
    metrics: {
      ...metrics,
      policy_loss: pl.loss,
      value_loss: vl.loss,
      loss: pl.loss + c.ppo.vf_coef * vl.loss + entLoss,
      clipfrac: pl.metrics.clipfrac!,
      approx_kl: pl.metrics.approx_kl!,
      value_clipfrac: vl.metrics.value_clipfrac!,
      explained_variance: vl.metrics.explained_variance!,
      grad_norm: info.gradNorm,
    },
  };
}

/** Lagrangian mode: the cost critic's clipped value-loss step on the same minibatch. */
async function costStep(
  c: PpoConfig,
  sub: SubBatch,
  mask: Float64Array,
  cost: NonNullable<UpdateTargets["cost"]>,
  critic: Learner,
  lr: number,
  place: string,
): Promise<number> {
  const cv = await critic.model.values(sub.batch);
  const oldValues = sub.take(cost.oldValues);
  const returns = sub.take(cost.returns);
  const cl = clippedValueLoss(
    { values: aligned(mask, cv), oldValues, returns, mask },
    { clip: c.ppo.value_clip },
  );
  const g = await critic.model.backward(sub.batch, {
    values: asModelDtype(critic.model, shiftBack(mask, cl.grads.values!)),
  });
  optimizerStep(
    critic.opt,
    g,
    lr,
    `${place} (cost critic)`,
    { cost_value_loss: cl.loss },
    { cost_value_loss: valueCeiling(mask, oldValues, returns, c.ppo.value_clip) },
  );
  return cl.loss;
}

export async function ppoUpdate(
  c: PpoConfig,
  r: Rollout,
  t: UpdateTargets,
  policy: Learner,
  costCritic: Learner | undefined,
  o: {
    seed: string;
    lr: number;
    afterUpdate: () => void;
    /** How a numerical failure names the update ("ppo iteration 3"). */
    place?: string;
  },
): Promise<Metrics> {
  const B = r.batch.batch;
  const M = c.ppo.minibatch_size;
  const heads: PolicyHead[] =
    c.ppo.ent_coef > 0 ? ["logprobs", "values", "entropy"] : ["logprobs", "values"];
  const sums: Record<string, number> = {};
  const add = (m: Metrics) => {
    for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v;
  };
  let steps = 0;
  let skipped = 0;
  let epochsRun = 0;
  let earlyStop = 0;
  for (let e = 0; e < c.ppo.epochs; e++) {
    const order = new Rng(o.seed)
      .fork(`epoch-${e}`)
      .shuffle(Array.from({ length: B }, (_, i) => i));
    let epochKl = 0;
    let epochMb = 0;
    for (let s = 0; s < B; s += M) {
      const rows = order.slice(s, s + M);
      const sub = subBatch(r, rows);
      const mask = sub.take(r.action);
      const place = `${o.place ?? "ppo update"}, epoch ${e + 1}, minibatch ${s / M + 1}`;
      const step = await policyStep(c, sub, mask, t, policy, heads, o.lr, place);
      epochKl += step.approxKl;
      epochMb += 1;
      if (!step.metrics) {
        skipped += 1;
        continue;
      }
      o.afterUpdate();
      steps += 1;
      add(step.metrics);
      sums.ratio_max = Math.max(sums.ratio_max ?? 0, step.ratioMax);
      if (costCritic && t.cost)
        add({ cost_value_loss: await costStep(c, sub, mask, t.cost, costCritic, o.lr, place) });
    }
    epochsRun += 1;
    if (c.ppo.target_kl !== null && epochKl / epochMb > 1.5 * c.ppo.target_kl) {
      earlyStop = 1;
      break;
    }
  }
  const avg: Metrics = {};
  for (const [k, v] of Object.entries(sums))
    avg[k] = k === "ratio_max" ? v : v / Math.max(steps, 1);
  return {
    ...avg,
    updates: steps,
    skipped_minibatches: skipped,
    epochs_run: epochsRun,
    early_stop: earlyStop,
  };
}
