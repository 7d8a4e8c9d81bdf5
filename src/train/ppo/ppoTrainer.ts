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
 */ import { join } from "node:path";
import { KeelError, type Where } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import type { TextPolicy } from "../adapters.js";
import { TrainLoop } from "../common/loop.js";
import {
  makeOptimizer,
  openCheckpoint,
  openReference,
  restoreInto,
  saveModel,
} from "../common/model.js";
import { type MomentsState, RunningMoments } from "../common/moments.js";
import type { Monitor, MonitorContext, RolloutView } from "../common/monitor.js";
import { requireFiniteWeights } from "../common/numeric.js";
import { releaseQuietly, releasing } from "../common/release.js";
import { checkPolicy } from "../common/role.js";
import type { Metrics, TrainEvent, TrainHooks, TrainResult } from "../common/run.js";
import { evaluate, initialState, iteration, type State } from "./iteration.js";
import { AdaptiveKlController, FixedKlController } from "./klControl.js";
import { type PpoConfig, type PpoConfigInput, parsePpoConfig } from "./ppoConfig.js";
import type { Learner } from "./ppoUpdate.js";
import { openSources, type RewardSource } from "./sources.js";

export type { RewardSource } from "./sources.js";

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

/**
 * A checkpoint's monitor states restore into the same monitors, in the same order: another set
 * (safeguards added, removed or reordered since the run began) would hand one monitor another's
 * state, or none. `was` is the checkpoint's monitor names (or, from a checkpoint written before
 * they were recorded, their count).
 */
function checkSameMonitors(was: string[] | number, monitors: readonly Monitor[], dir: string) {
  const now = monitors.map((m) => m.name);
  const same =
    typeof was === "number"
      ? was === now.length
      : was.length === now.length && was.every((n, i) => n === now[i]);
  if (same) return;
  const list = (names: readonly string[]) => (names.length > 0 ? names.join(", ") : "none");
  throw new KeelError(
    "KEEL_E_CONFIG",
    typeof was === "number"
      ? `cannot resume: the run began with ${was} safeguard monitor(s), now ${now.length} (${list(now)})`
      : `cannot resume: the run's safeguards were ${list(was)} then, ${list(now)} now`,
    {
      where: { file: dir, field: "safeguards" },
      hint: "resume with the safeguards the run began with, or start a new run in a fresh output directory",
    },
  );
}

/** Generation keeps a prompt's last tokens: without room, prompts would be cut to a token or two. */
function checkPromptRoom(c: PpoConfig, context: number): void {
  for (const [field, n] of [
    ["rollout.max_new_tokens", c.rollout.max_new_tokens],
    ["eval.max_new_tokens", c.eval.max_new_tokens],
  ] as const) {
    if (n !== undefined && context <= n + 4)
      throw new KeelError(
        "KEEL_E_CONFIG",
        `max_new_tokens ${n} leaves no room for prompts in context ${context}`,
        { where: { field } },
      );
  }
}

/** The trainer state a PPO checkpoint carries beside the weights. */
interface PpoState {
  readonly beta: number;
  readonly moments: MomentsState;
  readonly lambda: number | null;
  readonly monitors: unknown[];
  readonly monitor_names?: string[];
}

function stateOf(st: State, monitors: readonly Monitor[]): PpoState {
  return {
    beta: st.kl.beta,
    moments: st.moments.state(),
    lambda: st.lagrangian?.lambda ?? null,
    monitors: monitors.map((m) => m.state?.() ?? null),
    monitor_names: monitors.map((m) => m.name),
  };
}

/**
 * The numbers of a checkpoint's trainer state, checked before they are restored: JSON writes
 * NaN and ±∞ as null, and null does arithmetic as 0, so a β saved as NaN resumed as 0 (no KL
 * penalty, for good: the adaptive controller multiplies it) and normaliser moments as 0.
 */
function checkStateNumbers(c: PpoConfig, s: PpoState | undefined, dir: string): void {
  const num = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  const m = (s?.moments ?? {}) as Partial<MomentsState>;
  const fields: [string, unknown, (x: unknown) => boolean, string][] = [
    ["beta", s?.beta, (x) => num(x) && x >= 0, "a number ≥ 0"],
    ["moments.n", m.n, (x) => Number.isSafeInteger(x) && (x as number) >= 0, "a whole number ≥ 0"],
    ["moments.mean", m.mean, num, "a number"],
    ["moments.m2", m.m2, (x) => num(x) && x >= 0, "a number ≥ 0"],
  ];
  if (c.cost) fields.push(["lambda", s?.lambda, (x) => num(x) && x > 0, "a number > 0"]);
  const wrong = fields.find(([, x, ok]) => !ok(x));
  if (!wrong) return;
  const [field, x, , want] = wrong;
  throw new KeelError(
    "KEEL_E_CHECKPOINT",
    `cannot resume: the checkpoint's trainer state ${field} is ${JSON.stringify(x) ?? "missing"}, not ${want}`,
    {
      where: { file: join(dir, "policy", "config.json"), field: `extra.state.${field}` },
      hint: "a null is a NaN or infinity the run saved; resume from an earlier checkpoint (point checkpoints/latest.json at it) or start a new run",
    },
  );
}

/** Puts a checkpoint's controller, normaliser, multiplier and monitor states back. */
function restoreState(
  c: PpoConfig,
  st: State,
  monitors: readonly Monitor[],
  s: PpoState,
  dir: string,
): void {
  checkStateNumbers(c, s, dir);
  checkSameMonitors(s.monitor_names ?? s.monitors.length, monitors, dir);
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

/**
 * Iteration it's B prompts: epoch e = ⌊it / (⌊N/B⌋)⌋ visits the prompts in the order
 * Rng(seed).fork(`prompts-e`) shuffles them (a resumed run draws the same order).
 */
function promptSchedule(
  prompts: readonly string[],
  B: number,
  seed: number,
): (it: number) => string[] {
  const perEpoch = Math.floor(prompts.length / B);
  let order: number[] = [];
  let orderEpoch = -1;
  return (it) => {
    const e = Math.floor(it / perEpoch);
    if (e !== orderEpoch) {
      order = new Rng(seed).fork(`prompts-${e}`).shuffle(prompts.map((_, i) => i));
      orderEpoch = e;
    }
    const at = (it % perEpoch) * B;
    return order.slice(at, at + B).map((i) => prompts[i]!);
  };
}

/** Each monitor's events after iteration `step`; their metrics join the iteration's. */
async function observe(
  monitors: readonly Monitor[],
  step: number,
  policy: MonitorContext["policy"],
  it: { metrics: Metrics; view: RolloutView },
): Promise<TrainEvent[]> {
  const events: TrainEvent[] = [];
  for (const m of monitors) {
    events.push(...(await m.observe({ step, policy, rollout: it.view, metrics: it.metrics })));
    Object.assign(it.metrics, m.metrics?.() ?? {});
  }
  return events;
}

/**
 * The policy (and its learner), the frozen reference, the reward (and cost) sources, and in
 * Lagrangian mode the cost critic: a copy of the policy with its own optimiser.
 */
function openModels(c: PpoConfig, hooks: PpoHooks) {
  checkPolicy(c.policy.init, { file: c.policy.init, field: "policy.init" });
  if (c.reference)
    checkPolicy(c.reference.init, { file: c.reference.init, field: "reference.init" });
  const { model: policy, codec } = openCheckpoint(c.policy.init, hooks.threads);
  // What is open when a later one fails (a refused reference or reward model) is released here.
  const opened = [policy];
  try {
    checkPromptRoom(c, policy.config.context);
    // The reference scores the policy's own sequences (prompt and response, up to its context).
    const ref = c.reference
      ? openReference(c.reference.init, codec, policy.config.context, "policy.init", hooks.threads)
      : policy.clone();
    opened.push(ref);
    const sources = openSources(c, hooks);
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
    return { policy, codec, ref, sources, learner, critic };
  } catch (e) {
    void releaseQuietly(opened.map((m) => () => m.dispose()));
    throw e;
  }
}

/** The trainable weights (the policy's, and in Lagrangian mode the cost critic's), all finite. */
function requireFiniteLearners(policy: Learner, critic: Learner | undefined, it: number): void {
  requireFiniteWeights(policy.model.params, `ppo iteration ${it}`);
  if (critic) requireFiniteWeights(critic.model.params, `ppo iteration ${it} (cost critic)`);
}

/**
 * An extra evaluation (the CLI's `redteam` block) runs where the eval prompts are evaluated:
 * without eval prompts it would never run, and the run would look measured when it was not.
 */
function checkEvaluation(data: PpoData, hooks: PpoHooks): void {
  if (!hooks.evaluate || (data.evalPrompts?.length ?? 0) > 0) return;
  throw evaluationNeverRuns({ field: "redteam" });
}

/** The refusal of an extra evaluation in a run with no eval prompts, at `where` (its block). */
export function evaluationNeverRuns(where: Where): KeelError {
  return new KeelError(
    "KEEL_E_CONFIG",
    "the red-team evaluation (redteam) runs at each evaluation of the eval prompts, and this run has no eval prompts, so it would never run",
    {
      where,
      hint: "give the run eval prompts (data.eval_prompts, or a world whose eval split holds some), or remove the redteam block",
    },
  );
}

/** The final model at `dir`, and with an EMA safeguard its averaged weights at `<dir>-ema`. */
function saveFinal(
  dir: string,
  step: number,
  o: {
    policy: Learner["model"];
    codec: Parameters<typeof saveModel>[2];
    ema: ReturnType<NonNullable<Monitor["ema"]>>;
    loop: TrainLoop;
  },
): void {
  const { policy, codec, ema: e, loop } = o;
  saveModel(dir, policy, codec, { step, ...(e ? { ema: e } : {}), extra: loop.stamp(step) });
  if (!e) return;
  e.swap();
  saveModel(`${dir}-ema`, policy, codec, { step, extra: loop.stamp(step, { weights: "ema" }) });
  e.swap();
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
  checkEvaluation(data, hooks);
  const { policy, codec, ref, sources, learner, critic } = openModels(c, hooks);
  // Everything openModels opened is released however the run ends: a refused resume (another
  // trainer's checkpoint, changed safeguards) too, not only a failure in the loop.
  return releasing(
    async () => {
      const monitors = hooks.monitors ?? [];
      const st = initialState(c);
      const loop = new TrainLoop("ppo", hooks, c.run, c.ppo.iterations, c);
      for (const m of monitors) m.attach?.(policy);
      const ema = () => monitors.map((m) => m.ema?.()).find((e) => e !== undefined);
      if (loop.resumePoint) {
        const dir = loop.resumePoint.dir;
        const { extra } = restoreInto(join(dir, "policy"), policy, learner.opt, ema());
        loop.checkResumable(extra);
        if (critic) restoreInto(join(dir, "cost_critic"), critic.model, critic.opt);
        restoreState(c, st, monitors, extra.state as PpoState, dir);
        loop.resumed();
      }
      const save = (dir: string, step: number) => {
        requireFiniteLearners(learner, critic, step);
        const e = ema();
        saveModel(join(dir, "policy"), policy, codec, {
          step,
          optimizer: learner.opt,
          ...(e ? { ema: e } : {}),
          extra: loop.resumeStamp(step, { state: stateOf(st, monitors) }),
        });
        if (critic)
          saveModel(join(dir, "cost_critic"), critic.model, codec, { step, optimizer: critic.opt });
      };
      const promptsAt = promptSchedule(data.prompts, B, c.seed);
      return loop.running(async () => {
        let last: Metrics = {};
        let status: TrainResult["status"] = "completed";
        let it = loop.startStep;
        const hasEval = data.evalPrompts !== undefined && data.evalPrompts.length > 0;
        if (hasEval && it === 0 && !loop.resumePoint) {
          // The starting policy's scores, so every curve begins at the SFT model. A checkpoint at
          // step 0 (Ctrl-C during this evaluation) is saved after it, so its log holds them already.
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
          const events = await observe(monitors, it, policy, metrics);
          for (const e of events) loop.event(e);
          last = metrics.metrics;
          loop.progress("train", it, last);
          if (loop.due(c.run.log_every, it)) loop.record("train", it, last);
          if (hasEval && loop.due(c.run.eval_every, it)) {
            const ev = await evaluate(
              c,
              policy,
              codec,
              data.evalPrompts,
              sources.reward,
              hooks,
              it,
            );
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
          requireFiniteLearners(learner, critic, it);
          saveFinal(dir, it, { policy, codec, ema: ema(), loop });
        }
        return loop.finish(status, it, last, status === "aborted" ? undefined : dir);
      });
    },
    () => sources.dispose(),
    () => ref.dispose(),
    () => critic?.model.dispose(),
    () => policy.dispose(),
  );
}
