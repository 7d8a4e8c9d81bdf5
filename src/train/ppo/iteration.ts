/**
 * One PPO iteration (rollout, scoring, reference, old policy, shaping, update, control) and the
 * greedy evaluation, with the trainer state they carry between iterations: the KL controller,
 * the reward normaliser's running moments and the Lagrange multiplier. ppoTrainer.ts runs the
 * loop, checkpoints and monitors around them.
 */
import { KeelError } from "../../core/errors.js";
import type { Gpt } from "../../engine/gpt/model.js";
import { generateTexts, textPolicy } from "../adapters.js";
import type { TextCodec } from "../common/codec.js";
import { lrAt } from "../common/model.js";
import { RunningMoments } from "../common/moments.js";
import type { Monitor, RolloutView } from "../common/monitor.js";
import { naming } from "../common/numeric.js";
import { type Metrics, mean } from "../common/run.js";
import { klPerToken } from "../losses/kl.js";
import { gae, whiten } from "./gae.js";
import { AdaptiveKlController, FixedKlController, type KlController } from "./klControl.js";
import { Lagrangian } from "./lagrangian.js";
import { policyForward } from "./policyGraphs.js";
import type { PpoConfig } from "./ppoConfig.js";
import type { PpoHooks } from "./ppoTrainer.js";
import { type Learner, ppoUpdate, type UpdateTargets } from "./ppoUpdate.js";
import { alignValues, collectRollout, type Rollout, rowSums, tokenRewards } from "./rollout.js";
import type { RewardSource, Sources } from "./sources.js";

export interface State {
  kl: KlController;
  moments: RunningMoments;
  lagrangian: Lagrangian | undefined;
}

export function initialState(c: PpoConfig): State {
  const kl: KlController =
    c.kl.controller === "adaptive"
      ? new AdaptiveKlController(c.kl.coef, c.kl.target!, c.kl.horizon)
      : new FixedKlController(c.kl.coef);
  const lagrangian = c.cost
    ? new Lagrangian({
        init: c.cost.lambda_init,
        threshold: c.cost.threshold,
        lr: c.cost.lambda_lr,
        max: c.cost.lambda_max,
      })
    : undefined;
  return { kl, moments: new RunningMoments(), lagrangian };
}

/**
 * A score that is not a finite number (a reward model whose weights diverged, a remote scorer's
 * NaN) stops the run: clipping passes NaN through, so the batch's advantages, losses and the
 * update would be NaN, and later batches would train on whatever the model has become.
 */
function requireFinite(scores: ArrayLike<number>, what: "reward" | "cost", place: string): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < scores.length; i++)
    if (!Number.isFinite(scores[i]!)) {
      bad++;
      if (first < 0) first = i;
    }
  if (bad === 0) return;
  throw new KeelError(
    "KEEL_E_NUMERIC",
    `${place}: the ${what} model scored ${bad} of ${scores.length} responses ${scores[first]} (response ${first} first)`,
    {
      where: { field: `${what}.model` },
      hint: "check the model (keel model score) or the scoring server; the last checkpoint is from before this batch",
    },
  );
}

/** Normalised, clipped scores (running moments include this batch). */
function normalise(c: PpoConfig, m: RunningMoments, raw: Float64Array): Float64Array {
  if (!c.reward_norm.enabled) return raw;
  m.update(raw);
  const k = c.reward_norm.clip;
  const sd = m.std; // 1 until two scores have been seen
  return raw.map((x) => Math.min(Math.max((x - m.mean) / (sd + 1e-8), -k), k));
}

function mismatch(r: Rollout, lp: ArrayLike<number>): { max: number; mean: number } {
  let max = 0;
  let s = 0;
  let n = 0;
  for (let i = 0; i < lp.length; i++) {
    if (r.action[i] === 0) continue;
    const d = Math.abs(lp[i]! - r.genLogprobs[i]!);
    max = Math.max(max, d);
    s += d;
    n += 1;
  }
  return { max, mean: n > 0 ? s / n : 0 };
}

export interface IterContext {
  readonly policy: Learner;
  readonly critic: Learner | undefined;
  readonly ref: Gpt;
  readonly codec: TextCodec;
  readonly sources: Sources;
  readonly st: State;
  readonly monitors: readonly Monitor[];
}

/**
 * Step 2, scoring: the reward model's scores (finite, or KEEL_E_NUMERIC naming the iteration),
 * with missing_eos_penalty on responses cut at max_new_tokens; in Lagrangian mode the costs.
 */
async function scoreRollout(c: PpoConfig, sources: Sources, r: Rollout, it: number) {
  const scored = await sources.reward(r.prompts, r.responses);
  requireFinite(scored.score, "reward", `iteration ${it + 1}`);
  const raw = Float64Array.from(scored.score, (s, b) =>
    c.missing_eos_penalty !== null && !r.finished[b] ? s + c.missing_eos_penalty : s,
  );
  const costs = sources.cost ? (await sources.cost(r.prompts, r.responses)).score : undefined;
  if (costs) requireFinite(costs, "cost", `iteration ${it + 1}`);
  return { scored, raw, costs };
}

/**
 * Step 5, shaping: per-token rewards (−β·kl_t, the normalised score on the last token), GAE,
 * in Lagrangian mode the cost critic's advantages combined in, and whitening.
 */
async function shapeTargets(
  c: PpoConfig,
  x: IterContext,
  r: Rollout,
  o: {
    kl: Float64Array;
    beta: number;
    norm: Float64Array;
    costs: Float64Array | undefined;
    oldValues: Float64Array;
    oldLogprobs: Float64Array;
  },
): Promise<UpdateTargets> {
  const shape = { batch: r.batch.batch, length: r.batch.length };
  const g = gae(
    tokenRewards(r, o.kl, o.beta, o.norm),
    o.oldValues,
    r.action,
    shape,
    c.ppo.gamma,
    c.ppo.lam,
  );
  let advantages = g.advantages;
  let cost: { oldValues: Float64Array; returns: Float64Array } | undefined;
  if (x.critic && o.costs && x.st.lagrangian) {
    const cv = alignValues(r, await x.critic.model.values(r.batch));
    const gc = gae(
      tokenRewards(r, new Float64Array(o.kl.length), 0, o.costs),
      cv,
      r.action,
      shape,
      c.ppo.gamma,
      c.ppo.lam,
    );
    advantages = x.st.lagrangian.combine(advantages, gc.advantages);
    cost = { oldValues: cv, returns: gc.returns };
  }
  if (c.ppo.whiten_advantages) advantages = whiten(advantages, r.action);
  return {
    oldLogprobs: o.oldLogprobs,
    oldValues: o.oldValues,
    advantages,
    returns: g.returns,
    ...(cost ? { cost } : {}),
  };
}

export async function iteration(
  c: PpoConfig,
  it: number,
  seed: string,
  prompts: string[],
  x: IterContext,
): Promise<{ metrics: Metrics; view: RolloutView }> {
  const clock = () => performance.now() / 1000;
  const t0 = clock();
  const r = await naming(`ppo iteration ${it + 1}, rollout`, x.policy.opt.t === 0, () =>
    collectRollout(x.policy.model, x.codec, prompts, {
      maxNewTokens: c.rollout.max_new_tokens,
      temperature: c.rollout.temperature,
      topK: c.rollout.top_k,
      topP: c.rollout.top_p,
      seed: `${seed}/generate`,
    }),
  );
  const t1 = clock();
  const { scored, raw, costs } = await scoreRollout(c, x.sources, r, it);
  const t2 = clock();
  const refLp = await x.ref.logprobs(r.batch);
  const t3 = clock();
  const old = await policyForward(x.policy.model, r.batch, ["logprobs", "values"]);
  const oldLogprobs = Float64Array.from(old.logprobs!);
  const mm = mismatch(r, oldLogprobs);
  const kl = klPerToken(c.kl.estimator, oldLogprobs, refLp, r.action, c.kl.clamp).kl;
  const seqKl = rowSums(r, kl);
  const k1 = rowSums(r, klPerToken("k1", oldLogprobs, refLp, r.action, c.kl.clamp).kl);
  const norm = normalise(c, x.st.moments, raw);
  const beta = x.st.kl.beta;
  const oldValues = alignValues(r, old.values!);
  const targets = await shapeTargets(c, x, r, { kl, beta, norm, costs, oldValues, oldLogprobs });
  const up = await ppoUpdate(c, r, targets, x.policy, x.critic, {
    seed: `${seed}/update`,
    lr: lrAt(c.optim, it, c.ppo.iterations),
    place: `ppo iteration ${it + 1}`,
    afterUpdate: () => {
      for (const m of x.monitors) m.afterUpdate?.(x.policy.model);
    },
  });
  const t4 = clock();
  const meanKl = mean(seqKl);
  x.st.kl.update(meanKl, r.batch.batch);
  const lambdaBefore = x.st.lagrangian?.lambda;
  if (x.st.lagrangian && costs) x.st.lagrangian.update(mean(costs));
  const genTokens = r.responseLens.reduce((a, b) => a + b, 0);
  const metrics: Metrics = {
    score: mean(scored.score),
    reward: mean(raw),
    reward_std: Math.sqrt(mean(raw.map((v) => (v - mean(raw)) ** 2))),
    reward_norm: mean(norm),
    kl: meanKl,
    kl_k1: mean(k1),
    kl_coef: beta,
    response_len: genTokens / r.batch.batch,
    eos_rate: r.finished.filter(Boolean).length / r.batch.batch,
    logprob_mismatch_max: mm.max,
    logprob_mismatch_mean: mm.mean,
    ...up,
    ...(costs
      ? {
          cost: mean(costs),
          lambda: lambdaBefore!,
          cost_violation_rate: costs.filter((v) => v > 0).length / costs.length,
        }
      : {}),
    t_generation_s: t1 - t0,
    t_scoring_s: t2 - t1,
    t_reference_s: t3 - t2,
    t_update_s: t4 - t3,
    gen_tokens_per_s: genTokens / Math.max(t1 - t0, 1e-9),
  };
  return {
    metrics,
    view: {
      prompts: r.prompts,
      responses: r.responses,
      scores: scored.score,
      ...(scored.members ? { memberScores: scored.members } : {}),
      kl: seqKl,
      lengths: r.responseLens,
    },
  };
}

/** Greedy responses to the eval prompts: mean reward-model score and length, plus hooks.evaluate. */
export async function evaluate(
  c: PpoConfig,
  policy: Gpt,
  codec: TextCodec,
  prompts: readonly string[],
  reward: RewardSource,
  hooks: PpoHooks,
  step: number,
): Promise<Metrics> {
  const maxNewTokens = c.eval.max_new_tokens ?? c.rollout.max_new_tokens;
  const place =
    step === 0 ? "ppo evaluation of the starting policy" : `ppo evaluation after iteration ${step}`;
  const out = await naming(place, step === 0, () =>
    generateTexts(policy, codec, prompts, {
      maxNewTokens,
      temperature: 0,
      seed: "eval",
      batchSize: c.eval.batch_size,
    }),
  );
  const s = await reward(prompts, out.texts);
  // As in a rollout: a NaN mean score would be logged as null, and the run would go on.
  requireFinite(
    s.score,
    "reward",
    step === 0 ? "evaluation of the starting policy" : `evaluation after iteration ${step}`,
  );
  const extra = hooks.evaluate
    ? await hooks.evaluate(
        textPolicy(policy, codec, { maxNewTokens, batchSize: c.eval.batch_size }),
        step,
      )
    : {};
  return {
    eval_score: mean(s.score),
    eval_response_len: out.tokens / prompts.length,
    eval_eos_rate: out.finished.filter(Boolean).length / prompts.length,
    ...extra,
  };
}
