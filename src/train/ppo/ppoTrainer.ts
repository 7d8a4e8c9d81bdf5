/**
 * RLHF with PPO (Ziegler et al. 2019, arXiv:1909.08593; Ouyang et al. 2022, arXiv:2203.02155;
 * implementation details after TRL, OpenRLHF and Huang et al. 2024, "The N+ Implementation
 * Details of RLHF with PPO"). One iteration:
 *
 *   1. rollout     B prompts (epoch order Rng(seed).fork("prompts-e")), responses sampled from
 *                  the policy with the KV cache                                       [generation]
 *   2. score       the reward model (or ensemble) scores the texts; a response cut at
 *                  max_new_tokens gets missing_eos_penalty; scores are normalised by running
 *                  moments and clipped                                                   [scoring]
 *   3. reference   log π_ref of every response token                                   [reference]
 *   4. old policy  log π_old and values from the policy graph that trains (ppo/policyGraphs.ts);
 *                  their gap to generation's log-probs is reported (logprob_mismatch_*)
 *   5. shaping     r_t = −β·kl_t (k1/k2/k3, clamped) + score on the last token; GAE(γ, λ);
 *                  advantage whitening. Lagrangian mode (Safe-RLHF): a cost model scores too,
 *                  a separate cost critic gives A^C, A = (A^R − λA^C)/(1 + λ)
 *   6. update      epochs × minibatches of clipped PPO (ppo/ppoUpdate.ts)                 [update]
 *   7. control     β by the fixed or adaptive controller from the batch KL; λ towards the cost
 *                  threshold; monitors (src/safeguards) observe and may stop the run
 * All randomness of iteration i comes from Rng(seed).fork(`iter-i`), and the controller,
 * normaliser, multiplier and monitor states are checkpointed, so a resumed run replays exactly.
 */
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import type { Gpt } from "../../engine/gpt/model.js";
import { generateTexts, type TextPolicy, textPolicy } from "../adapters.js";
import type { TextCodec } from "../common/codec.js";
import { TrainLoop } from "../common/loop.js";
import { lrAt, makeOptimizer, openCheckpoint, restoreInto, saveModel } from "../common/model.js";
import { type MomentsState, RunningMoments } from "../common/moments.js";
import type { Monitor, RolloutView } from "../common/monitor.js";
import {
  type Metrics,
  mean,
  type TrainEvent,
  type TrainHooks,
  type TrainResult,
} from "../common/run.js";
import { klPerToken } from "../losses/kl.js";
import { RewardScorer } from "../rm/ensemble.js";
import { gae, whiten } from "./gae.js";
import { AdaptiveKlController, FixedKlController, type KlController } from "./klControl.js";
import { Lagrangian } from "./lagrangian.js";
import { policyForward } from "./policyGraphs.js";
import { type PpoConfig, type PpoConfigInput, parsePpoConfig } from "./ppoConfig.js";
import { type Learner, ppoUpdate } from "./ppoUpdate.js";
import { alignValues, collectRollout, type Rollout, rowSums, tokenRewards } from "./rollout.js";

/** Scores (prompt, response) texts; members are an ensemble's per-member scores. */
export type RewardSource = (
  prompts: readonly string[],
  responses: readonly string[],
) => Promise<{ score: Float64Array; members?: readonly Float64Array[] }>;

export interface PpoData {
  readonly prompts: readonly string[];
  readonly evalPrompts?: readonly string[];
}

export interface PpoHooks extends TrainHooks {
  /** A reward function used instead of `reward.model`. */
  readonly reward?: RewardSource;
  /** A cost function used instead of `cost.model` (Lagrangian mode). */
  readonly cost?: RewardSource;
  /** Drift safeguards (src/safeguards: `createSafeguards`). */
  readonly monitors?: readonly Monitor[];
  /** Extra evaluation at each eval point (e.g. the world's red-team metrics). */
  readonly evaluate?: (policy: TextPolicy, step: number) => Promise<Metrics>;
}

interface Sources {
  reward: RewardSource;
  cost: RewardSource | undefined;
  dispose: () => Promise<void>;
}

function openSources(c: PpoConfig, hooks: PpoHooks): Sources {
  const owned: RewardScorer[] = [];
  const open = (dir: string, o: { scoring?: PpoConfig["reward"]["scoring"]; lambda?: number }) => {
    const s = RewardScorer.load(dir, {
      ...(hooks.threads === undefined ? {} : { threads: hooks.threads }),
      ...(o.scoring ? { scoring: o.scoring } : {}),
      ...(o.lambda === undefined ? {} : { lambda: o.lambda }),
    });
    owned.push(s);
    return (p: readonly string[], r: readonly string[]) => s.score(p, r);
  };
  const reward =
    hooks.reward ??
    (c.reward.model
      ? open(c.reward.model, {
          ...(c.reward.scoring ? { scoring: c.reward.scoring } : {}),
          ...(c.reward.lambda === undefined ? {} : { lambda: c.reward.lambda }),
        })
      : undefined);
  if (!reward)
    throw new KeelError(
      "KEEL_E_CONFIG",
      "ppo needs a reward model (reward.model) or a reward function",
      {
        where: { field: "reward.model" },
      },
    );
  let cost: RewardSource | undefined;
  if (c.cost) {
    cost = hooks.cost ?? (c.cost.model ? open(c.cost.model, {}) : undefined);
    if (!cost)
      throw new KeelError("KEEL_E_CONFIG", "Lagrangian mode needs a cost model (cost.model)", {
        where: { field: "cost.model" },
      });
  }
  return {
    reward,
    cost,
    dispose: async () => {
      for (const s of owned) await s.dispose();
    },
  };
}

interface State {
  kl: KlController;
  moments: RunningMoments;
  lagrangian: Lagrangian | undefined;
}

function initialState(c: PpoConfig): State {
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

/** Normalised, clipped scores (running moments include this batch). */
function normalise(c: PpoConfig, m: RunningMoments, raw: Float64Array): Float64Array {
  if (!c.reward_norm.enabled) return raw;
  m.update(raw);
  const sd = m.n > 1 ? m.std : 1;
  const k = c.reward_norm.clip;
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

export async function trainPpo(
  input: PpoConfigInput | PpoConfig,
  data: PpoData,
  hooks: PpoHooks = {},
): Promise<TrainResult> {
  const c = parsePpoConfig(input);
  const B = c.rollout.batch_size;
  if (data.prompts.length < B)
    throw new KeelError(
      "KEEL_E_USAGE",
      `ppo needs at least rollout.batch_size = ${B} prompts, got ${data.prompts.length}`,
      {
        where: { field: "data.prompts" },
      },
    );
  const { model: policy, codec } = openCheckpoint(c.policy.init, hooks.threads);
  if (policy.config.context <= c.rollout.max_new_tokens + 4)
    throw new KeelError(
      "KEEL_E_CONFIG",
      `max_new_tokens ${c.rollout.max_new_tokens} leaves no room for prompts in context ${policy.config.context}`,
      {
        where: { field: "rollout.max_new_tokens" },
      },
    );
  const ref = c.reference ? openCheckpoint(c.reference.init, hooks.threads).model : policy.clone();
  const sources = openSources(c, hooks);
  const monitors = hooks.monitors ?? [];
  const learner: Learner = {
    model: policy,
    opt: makeOptimizer(policy, c.optim),
    grad: policy.params.zerosLike(),
  };
  let critic: Learner | undefined;
  if (c.cost) {
    const m = policy.clone();
    critic = { model: m, opt: makeOptimizer(m, c.optim), grad: m.params.zerosLike() };
  }
  const st = initialState(c);
  const loop = new TrainLoop("ppo", hooks, c.run, c.ppo.iterations, c);
  for (const m of monitors) m.attach?.(policy);
  const ema = () => monitors.map((m) => m.ema?.()).find((e) => e !== undefined);
  if (loop.resumePoint) {
    const dir = loop.resumePoint.dir;
    const { extra } = restoreInto(join(dir, "policy"), policy, learner.opt, ema());
    loop.checkResumable(extra);
    if (critic) restoreInto(join(dir, "cost_critic"), critic.model, critic.opt);
    const s = extra.state as {
      beta: number;
      moments: MomentsState;
      lambda: number | null;
      monitors: unknown[];
    };
    st.kl =
      c.kl.controller === "adaptive"
        ? new AdaptiveKlController(s.beta, c.kl.target!, c.kl.horizon)
        : new FixedKlController(s.beta);
    st.moments = new RunningMoments(s.moments);
    if (st.lagrangian && s.lambda !== null) st.lagrangian.lambda = s.lambda;
    monitors.forEach((m, i) => {
      m.restore?.(s.monitors[i]);
    });
  }
  const save = (dir: string, step: number) => {
    const state = {
      beta: st.kl.beta,
      moments: st.moments.state(),
      lambda: st.lagrangian?.lambda ?? null,
      monitors: monitors.map((m) => m.state?.() ?? null),
    };
    const e = ema();
    saveModel(join(dir, "policy"), policy, codec, {
      step,
      optimizer: learner.opt,
      ...(e ? { ema: e } : {}),
      extra: loop.stamp(step, { state }),
    });
    if (critic)
      saveModel(join(dir, "cost_critic"), critic.model, codec, { step, optimizer: critic.opt });
  };

  const perEpoch = Math.floor(data.prompts.length / B);
  let order: number[] = [];
  let orderEpoch = -1;
  const promptsAt = (it: number): string[] => {
    const e = Math.floor(it / perEpoch);
    if (e !== orderEpoch) {
      order = new Rng(c.seed).fork(`prompts-${e}`).shuffle(data.prompts.map((_, i) => i));
      orderEpoch = e;
    }
    const at = (it % perEpoch) * B;
    return order.slice(at, at + B).map((i) => data.prompts[i]!);
  };

  let last: Metrics = {};
  let status: TrainResult["status"] = "completed";
  let it = loop.startStep;
  try {
    const hasEval = data.evalPrompts !== undefined && data.evalPrompts.length > 0;
    if (hasEval && it === 0) {
      // The starting policy's scores, so every curve begins at the SFT model.
      const ev = await evaluate(c, policy, codec, data.evalPrompts!, sources.reward, hooks, 0);
      loop.record("eval", 0, ev);
      loop.progress("eval", 0, ev);
    }
    while (it < c.ppo.iterations) {
      if (loop.aborted) {
        const at = it;
        loop.saveCheckpoint(at, (d) => save(d, at));
        status = "aborted";
        break;
      }
      const iterSeed = `${c.seed}/iter-${it}`;
      const metrics = await iteration(c, it, iterSeed, promptsAt(it), {
        policy: learner,
        critic,
        ref,
        codec,
        sources,
        st,
        monitors,
      });
      it += 1;
      const events: TrainEvent[] = [];
      for (const m of monitors) {
        events.push(
          ...(await m.observe({
            step: it,
            policy,
            rollout: metrics.view,
            metrics: metrics.metrics,
          })),
        );
        Object.assign(metrics.metrics, m.metrics?.() ?? {});
      }
      for (const e of events) loop.event(e);
      last = metrics.metrics;
      loop.progress("train", it, last);
      if (loop.due(c.run.log_every, it)) loop.record("train", it, last);
      if (hasEval && loop.due(c.run.eval_every, it)) {
        const ev = await evaluate(c, policy, codec, data.evalPrompts, sources.reward, hooks, it);
        loop.record("eval", it, ev);
        loop.progress("eval", it, ev);
        last = { ...last, ...ev };
      }
      const stop = events.some((e) => e.severity === "stop");
      if (
        (c.run.checkpoint_every > 0 &&
          it % c.run.checkpoint_every === 0 &&
          it < c.ppo.iterations) ||
        stop
      ) {
        const at = it;
        loop.saveCheckpoint(at, (d) => save(d, at));
      }
      if (stop) {
        status = "stopped";
        break;
      }
    }
    const dir = loop.finalDir;
    if (dir && status !== "aborted") {
      const e = ema();
      saveModel(dir, policy, codec, { step: it, ...(e ? { ema: e } : {}), extra: loop.stamp(it) });
      if (e) {
        e.swap();
        saveModel(`${dir}-ema`, policy, codec, {
          step: it,
          extra: loop.stamp(it, { weights: "ema" }),
        });
        e.swap();
      }
    }
    return loop.finish(status, it, last, status === "aborted" ? undefined : dir);
  } finally {
    await sources.dispose();
    await ref.dispose();
    await critic?.model.dispose();
    await policy.dispose();
  }
}

interface IterContext {
  readonly policy: Learner;
  readonly critic: Learner | undefined;
  readonly ref: Gpt;
  readonly codec: TextCodec;
  readonly sources: Sources;
  readonly st: State;
  readonly monitors: readonly Monitor[];
}

async function iteration(
  c: PpoConfig,
  it: number,
  seed: string,
  prompts: string[],
  x: IterContext,
): Promise<{ metrics: Metrics; view: RolloutView }> {
  const clock = () => performance.now() / 1000;
  const t0 = clock();
  const r = await collectRollout(x.policy.model, x.codec, prompts, {
    maxNewTokens: c.rollout.max_new_tokens,
    temperature: c.rollout.temperature,
    topK: c.rollout.top_k,
    topP: c.rollout.top_p,
    seed: `${seed}/generate`,
  });
  const t1 = clock();
  const scored = await x.sources.reward(r.prompts, r.responses);
  const raw = Float64Array.from(scored.score, (s, b) =>
    c.missing_eos_penalty !== null && !r.finished[b] ? s + c.missing_eos_penalty : s,
  );
  const costs = x.sources.cost ? (await x.sources.cost(r.prompts, r.responses)).score : undefined;
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
  const shape = { batch: r.batch.batch, length: r.batch.length };
  const oldValues = alignValues(r, old.values!);
  const g = gae(
    tokenRewards(r, kl, beta, norm),
    oldValues,
    r.action,
    shape,
    c.ppo.gamma,
    c.ppo.lam,
  );
  let advantages = g.advantages;
  let cost: { oldValues: Float64Array; returns: Float64Array } | undefined;
  if (x.critic && costs && x.st.lagrangian) {
    const cv = alignValues(r, await x.critic.model.values(r.batch));
    const gc = gae(
      tokenRewards(r, new Float64Array(kl.length), 0, costs),
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
  const up = await ppoUpdate(
    c,
    r,
    { oldLogprobs, oldValues, advantages, returns: g.returns, ...(cost ? { cost } : {}) },
    x.policy,
    x.critic,
    {
      seed: `${seed}/update`,
      lr: lrAt(c.optim, it, c.ppo.iterations),
      afterUpdate: () => {
        for (const m of x.monitors) m.afterUpdate?.(x.policy.model);
      },
    },
  );
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
async function evaluate(
  c: PpoConfig,
  policy: Gpt,
  codec: TextCodec,
  prompts: readonly string[],
  reward: RewardSource,
  hooks: PpoHooks,
  step: number,
): Promise<Metrics> {
  const maxNewTokens = c.eval.max_new_tokens ?? c.rollout.max_new_tokens;
  const out = await generateTexts(policy, codec, prompts, {
    maxNewTokens,
    temperature: 0,
    seed: "eval",
    batchSize: c.eval.batch_size,
  });
  const s = await reward(prompts, out.texts);
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
