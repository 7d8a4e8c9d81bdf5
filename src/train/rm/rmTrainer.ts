/**
 * Reward-model (and cost-model) training. For each of the k ensemble members in turn:
 *
 *   1. open the starting model (a checkpoint such as the SFT policy, or a new model) and
 *      re-initialise its scalar reward head from the member's seed;
 *   2. for each step, take B pairs (member m's epoch-e batches come from Rng(seed).fork(
 *      "member-m/epoch-e"), grouped by length, over a bootstrap resample when asked), score chosen and rejected rows in one
 *      forward pass, compute the pair loss in TypeScript (REWARD_LOSSES: Bradley–Terry with
 *      margin/centring, or Safe-RLHF's cost loss) with per-pair weights, feed ∂L/∂r back through
 *      `Gpt.backward`, and take an AdamW step. With `train.lm_coef` > 0 the same backward
 *      pass also takes the language-modelling loss on the chosen responses' tokens
 *      (lm_coef · mean −log p, prompt tokens excluded) as an upstream gradient on the
 *      per-token log-probs;
 *   3. record the member's training-reward mean and std (for ensemble normalisation) and save
 *      it to `<out>/model/member-m`.
 * Finally `<out>/model/ensemble.json` names the members and the scoring rule, and the ensemble
 * is evaluated on the held-out pairs (rm/metrics.ts).
 */

import { join } from "node:path";
import { Rng } from "../../core/rng.js";
import type { PreferencePair } from "../../core/types.js";
import { contentToText } from "../../core/types.js";
import type { Gpt } from "../../engine/gpt/model.js";
import { epochBatches } from "../common/batches.js";
import { TrainLoop } from "../common/loop.js";
import {
  asModelDtype,
  lrAt,
  makeOptimizer,
  openModel,
  restoreInto,
  saveModel,
  seqLenFor,
} from "../common/model.js";
import {
  divergence,
  type LossCeiling,
  optimizerStep,
  requireFiniteWeights,
} from "../common/numeric.js";
import { releasing } from "../common/release.js";
import type { Metrics, TrainHooks, TrainResult } from "../common/run.js";
import { promptKey, requireTraining, splitEval } from "../common/split.js";
import { REWARD_LOSSES } from "../losses/reward.js";
import { parseCostConfig } from "./costConfig.js";
import { aggregateScores, RewardScorer, writeEnsembleFile } from "./ensemble.js";
import { type PairEvalMetrics, pairEvalMetrics } from "./metrics.js";
import {
  type CostPair,
  checkPairs,
  type EncodedPair,
  pairBatch,
  requireWeight,
  scorePairs,
} from "./pairs.js";
import { type PairTable, RawPairSets } from "./pairTable.js";
import { parseRmConfig, type RmConfig, type RmConfigInput } from "./rmConfig.js";

export interface RmData<P extends PreferencePair = PreferencePair> {
  readonly train: readonly P[];
  readonly eval?: readonly P[];
}

function reinitHead(model: Gpt, rng: Rng): void {
  const w = model.params.view("reward_head.weight");
  for (let i = 0; i < w.length; i++) w[i] = rng.normal(0, 0.02);
  model.params.view("reward_head.bias").fill(0);
  model.params.touch();
}

function evalMetrics(
  s: { chosen: ArrayLike<number>; rejected: ArrayLike<number> },
  pairs: PairTable,
  cost: boolean,
): PairEvalMetrics {
  return cost
    ? pairEvalMetrics(s.chosen, s.rejected, {
        sign: -1,
        chosenSafe: Array.from(pairs.chosenSign, (x) => x < 0),
        rejectedSafe: Array.from(pairs.rejectedSign, (x) => x < 0),
      })
    : pairEvalMetrics(s.chosen, s.rejected);
}

const asMetrics = (m: PairEvalMetrics, prefix = ""): Metrics =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}${k}`, v as number]));

/** Accuracy per evaluation group (pairs carrying a `group` label), as eval_accuracy/<group>. */
function groupAccuracy(
  s: { chosen: ArrayLike<number>; rejected: ArrayLike<number> },
  pairs: PairTable,
  cost: boolean,
): Metrics {
  const tally = new Map<string, [number, number]>();
  for (let i = 0; i < pairs.length; i++) {
    const group = pairs.group(i);
    if (group === undefined) continue;
    const d = (cost ? -1 : 1) * (s.chosen[i]! - s.rejected[i]!);
    const t = tally.get(group) ?? [0, 0];
    t[0] += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    t[1] += 1;
    tally.set(group, t);
  }
  return Object.fromEntries([...tally].sort().map(([g, [a, n]]) => [`eval_accuracy/${g}`, a / n]));
}

/**
 * The language-modelling term on a pair batch (rows: the chosen sequences, then the rejected):
 * the mean −log p of the chosen responses' tokens, each token weighted by its pair's weight (a
 * pair the audit zeroed teaches the trunk nothing), and coef · its gradient with respect to the
 * per-token log-probs [2B, T] (entry t of a row is log p(token t | tokens before it)).
 */
export function chosenLmTerm(
  pairs: readonly EncodedPair[],
  T: number,
  logprobs: ArrayLike<number>,
  coef: number,
): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(2 * pairs.length * T);
  let sum = 0;
  let total = 0;
  pairs.forEach((p, i) => {
    for (let t = Math.max(1, p.chosenPrompt); t < p.chosen.length; t++) {
      sum -= p.weight * logprobs[i * T + t]!;
      total += p.weight;
    }
  });
  if (total === 0) return { loss: 0, grad };
  pairs.forEach((p, i) => {
    for (let t = Math.max(1, p.chosenPrompt); t < p.chosen.length; t++)
      grad[i * T + t] = (-coef * p.weight) / total;
  });
  return { loss: sum / total, grad };
}

/**
 * One optimiser step on a batch of pairs: chosen and rejected rows scored in one forward pass,
 * the pair loss's gradient (and the chosen responses' LM term with `train.lm_coef` > 0) fed
 * back through the model, then AdamW. Returns the step's metrics.
 */
async function pairStep(
  model: Gpt,
  opt: ReturnType<typeof makeOptimizer>,
  pairs: readonly EncodedPair[],
  padId: number,
  c: RmConfig,
  o: { lr: number; cost: boolean; place: string },
): Promise<Metrics> {
  const batch = pairBatch(pairs, padId);
  const lm = c.train.lm_coef > 0;
  const out = await model.forward(batch, lm ? ["rewards", "logprobs"] : ["rewards"]);
  const r = out.rewards!; // [2·nb]: chosen rows, then rejected
  const nb = pairs.length;
  const labels = {
    weight: pairs.map((p) => p.weight),
    ...(c.train.use_margin ? { margin: pairs.map((p) => p.margin) } : {}),
    ...(o.cost
      ? {
          chosenSign: pairs.map((p) => p.chosenSign),
          rejectedSign: pairs.map((p) => p.rejectedSign),
        }
      : {}),
  };
  const lossOptions = { centring: c.train.centring, labelSmoothing: c.train.label_smoothing };
  const lossFn = REWARD_LOSSES[c.loss];
  const res = lossFn(
    { chosen: r.subarray(0, nb), rejected: r.subarray(nb), ...labels },
    lossOptions,
  );
  const d = new Float64Array(2 * nb);
  d.set(res.grads.chosen!, 0);
  d.set(res.grads.rejected!, nb);
  const lmTerm = lm ? chosenLmTerm(pairs, batch.length, out.logprobs!, c.train.lm_coef) : undefined;
  const grad = await model.backward(batch, {
    rewards: asModelDtype(model, d),
    ...(lmTerm ? { logprobs: asModelDtype(model, lmTerm.grad) } : {}),
  });
  const loss = res.loss + (lmTerm ? c.train.lm_coef * lmTerm.loss : 0);
  // The know-nothing model scores every response 0 (and guesses tokens uniformly).
  const zeros = new Float64Array(nb);
  const ceiling: LossCeiling = {
    baseline:
      lossFn({ chosen: zeros, rejected: zeros, ...labels }, lossOptions).loss +
      (lmTerm ? c.train.lm_coef * Math.log(model.config.vocab) : 0),
    rule: `the batch's ${c.loss} loss with every score 0${lmTerm ? `, plus lm_coef × ln ${model.config.vocab}` : ""}`,
  };
  const info = optimizerStep(opt, grad, o.lr, o.place, { loss }, { loss: ceiling });
  return {
    loss,
    ...res.metrics,
    ...(lmTerm ? { lm_loss: lmTerm.loss } : {}),
    lr: info.lr,
    grad_norm: info.gradNorm,
  };
}

/**
 * A model that scores a response NaN or ±∞ has diverged (its last update, which no later loss
 * saw): its metrics and normalisation statistics would be NaN, written as null, and a member
 * saved with them would be read back as mean 0, std 1.
 */
function requireFiniteScores(
  s: { chosen: ArrayLike<number>; rejected: ArrayLike<number> },
  place: string,
): void {
  const all = [...Array.from(s.chosen), ...Array.from(s.rejected)];
  const bad = all.filter((x) => !Number.isFinite(x));
  if (bad.length > 0)
    throw divergence(place, `the model scored ${bad.length} of ${all.length} responses ${bad[0]}`);
}

/**
 * Mean and std of a member's rewards over `pairs` (both sides), for ensemble normalisation;
 * scores that are not finite are KEEL_E_NUMERIC at `place`.
 */
async function rewardMoments(
  model: Gpt,
  pairs: readonly EncodedPair[],
  padId: number,
  c: RmConfig,
  place: string,
): Promise<{ mean: number; std: number }> {
  const s = await scorePairs(model, pairs, padId, c.train.eval_batch_size);
  requireFiniteScores(s, place);
  const all = [...s.chosen, ...s.rejected];
  const mean = all.reduce((a, x) => a + x, 0) / all.length;
  const std = Math.sqrt(all.reduce((a, x) => a + (x - mean) ** 2, 0) / all.length) || 1;
  return { mean, std };
}

async function trainPairModel(
  input: RmConfigInput | RmConfig,
  data: RmData<PreferencePair | CostPair>,
  hooks: TrainHooks,
  kind: "reward" | "cost",
): Promise<TrainResult> {
  const c = parseRmConfig(input);
  const cost = c.loss === "safe_rlhf_cost";
  checkPairs(data.train, "train", { cost });
  if (data.eval) checkPairs(data.eval, "eval", { cost });
  const sets = splitEval(data.train, data.eval, c.train.eval_fraction, c.seed, promptKey);
  requireTraining(sets.train, data.train.length, c.train.eval_fraction, `${kind} model`, "pairs");
  requireWeight(sets.train, `${kind} model`);
  // Not awaited here: this frame (and `data`) ends now, so the texts go once encoded.
  return runPairModel(c, new RawPairSets(sets), hooks, kind);
}

/**
 * The members' training on the split pairs. They are encoded once, with the first member's
 * codec: every member opens the same `model` source, so the same tokenizer (a tokenizer trained
 * on the texts is trained on the same texts, deterministically). The texts are dropped then,
 * unless later members train their tokenizer on them again.
 */
async function runPairModel(
  c: RmConfig,
  raw: RawPairSets<PreferencePair | CostPair>,
  hooks: TrainHooks,
  kind: "reward" | "cost",
): Promise<TrainResult> {
  const cost = c.loss === "safe_rlhf_cost";
  const texts = () =>
    raw.sets.train.flatMap((p) => [
      contentToText(p.prompt),
      contentToText(p.chosen),
      contentToText(p.rejected),
    ]);
  const retrainsTokenizer = c.model.tokenizer !== undefined && "vocab_size" in c.model.tokenizer;
  const k = c.ensemble.size;
  const B = c.train.batch_size;
  const n = raw.sets.train.length;
  const perEpoch = Math.ceil(n / B);
  const perMember = c.train.steps ?? Math.max(1, Math.ceil(c.train.epochs * perEpoch));
  const loop = new TrainLoop(kind === "cost" ? "cost" : "rm", hooks, c.run, k * perMember, c);
  const memberNames = Array.from({ length: k }, (_, m) => `member-${m}`);
  let last: Metrics = {};
  let train: PairTable | undefined;
  let encodedEval: PairTable | undefined;
  let padId = 0;
  const startMember = Math.floor(loop.startStep / perMember);

  return loop.running(async () => {
    for (let m = startMember; m < k; m++) {
      const rng = new Rng(c.seed).fork(`member-${m}`);
      const { model, codec } = openModel(c.model, {
        seed: rng.fork("init").seed,
        threads: hooks.threads,
        texts,
      });
      // The member is this run's own: released however its training ends (a divergence, a
      // refused resume, a failed save), or its ONNX Runtime sessions would outlive the run.
      const aborted = await releasing(
        async (): Promise<TrainResult | undefined> => {
          padId = codec.padId;
          const seqLen = seqLenFor(c.train.seq_len, model);
          const drop = !retrainsTokenizer || m === k - 1;
          if (!train || !encodedEval)
            ({ train, eval: encodedEval } = raw.encode(codec, seqLen, { cost, drop }));
          else if (drop) raw.drop();
          const pairs = train;
          const heldOut = encodedEval;
          if (c.train.reinit_head) reinitHead(model, rng.fork("head"));
          const pool = Array.from({ length: n }, (_, i) => i);
          if (c.ensemble.bootstrap) {
            const br = rng.fork("bootstrap");
            for (let i = 0; i < n; i++) pool[i] = br.int(n);
          }
          const opt = makeOptimizer(model, c.optim);
          let local = 0;
          if (loop.resumePoint && m === startMember) {
            const { extra } = restoreInto(loop.resumePoint.dir, model, opt);
            loop.checkResumable(extra);
            local = loop.startStep - m * perMember;
            loop.resumed();
          }
          const save = (dir: string, step: number) => {
            requireFiniteWeights(model.params, `${loop.trainer} step ${step} (member-${m})`);
            saveModel(dir, model, codec, { step, optimizer: opt, extra: loop.resumeStamp(step) });
          };
          let batches: number[][] = [];
          let batchesEpoch = -1;
          while (local < perMember) {
            const step = m * perMember + local;
            if (loop.aborted) {
              loop.saveCheckpoint(step, (d) => save(d, step));
              return loop.finish("aborted", step, last, undefined);
            }
            const epoch = Math.floor(local / perEpoch);
            if (epoch !== batchesEpoch) {
              batches = epochBatches(pool, B, c.seed, `member-${m}/epoch-${epoch}`, (i) =>
                pairs.longest(i),
              );
              batchesEpoch = epoch;
            }
            const batchPairs = pairs.pairs(batches[local % perEpoch]!);
            const stepMetrics = await pairStep(model, opt, batchPairs, codec.padId, c, {
              lr: lrAt(c.optim, local, perMember),
              cost,
              place: `${loop.trainer} step ${step + 1} (member-${m})`,
            });
            local += 1;
            const done = m * perMember + local;
            const live: Metrics = { member: m, ...stepMetrics };
            loop.progress(`member-${m}`, done, live);
            if (loop.due(c.run.log_every, done) || local === perMember) {
              loop.record("train", done, live);
              last = live;
            }
            if (
              heldOut.length > 0 &&
              (local === perMember || (c.run.eval_every > 0 && local % c.run.eval_every === 0))
            ) {
              const scored = await scorePairs(model, heldOut, codec.padId, c.train.eval_batch_size);
              requireFiniteScores(
                scored,
                `${loop.trainer} evaluation after step ${done} (member-${m})`,
              );
              const ev = {
                ...asMetrics(evalMetrics(scored, heldOut, cost), "eval_"),
                ...groupAccuracy(scored, heldOut, cost),
              };
              loop.record("eval", done, { member: m, ...ev });
              loop.progress("eval", done, { eval_accuracy: ev.eval_accuracy! });
              last = { ...last, ...ev };
            }
            if (
              c.run.checkpoint_every > 0 &&
              done % c.run.checkpoint_every === 0 &&
              local < perMember
            )
              loop.saveCheckpoint(done, (dd) => save(dd, done));
          }
          // Member finished: normalisation statistics over (up to 512) training pairs, then save.
          requireFiniteWeights(
            model.params,
            `${loop.trainer} step ${(m + 1) * perMember} (member-${m})`,
          );
          const { mean, std } = await rewardMoments(
            model,
            pairs.slice(0, 512),
            codec.padId,
            c,
            `${loop.trainer} member-${m} after step ${(m + 1) * perMember}`,
          );
          if (loop.finalDir)
            saveModel(join(loop.finalDir, memberNames[m]!), model, codec, {
              step: (m + 1) * perMember,
              extra: loop.stamp((m + 1) * perMember, { kind, reward_mean: mean, reward_std: std }),
            });
          return undefined;
        },
        () => model.dispose(),
      );
      if (aborted) return aborted;
    }
    const dir = loop.finalDir;
    if (dir)
      writeEnsembleFile(dir, {
        format: "keel-reward-ensemble",
        kind,
        members: memberNames,
        scoring: c.ensemble.scoring,
        lambda: c.ensemble.lambda,
        normalise: c.ensemble.normalise,
      });
    if (dir && encodedEval && encodedEval.length > 0 && k > 1)
      last = { ...last, ...(await ensembleEval(dir, encodedEval, padId, c, cost)) };
    return loop.finish("completed", k * perMember, last, dir);
  });
}

/** Held-out metrics of the saved ensemble under its scoring rule, and its members' spread. */
async function ensembleEval(
  dir: string,
  pairs: PairTable,
  padId: number,
  c: RmConfig,
  cost: boolean,
): Promise<Metrics> {
  const scorer = RewardScorer.load(dir);
  const chosen: Float64Array[] = [];
  const rejected: Float64Array[] = [];
  let accSum = 0;
  await releasing(
    async () => {
      for (const mm of scorer.members) {
        const s = await scorePairs(mm.model, pairs, padId, c.train.eval_batch_size);
        chosen.push(s.chosen.map((r) => (r - mm.norm.mean) / mm.norm.std));
        rejected.push(s.rejected.map((r) => (r - mm.norm.mean) / mm.norm.std));
        accSum += evalMetrics(s, pairs, cost).accuracy;
      }
    },
    () => scorer.dispose(),
  );
  const ac = aggregateScores(chosen, c.ensemble.scoring, c.ensemble.lambda);
  const ar = aggregateScores(rejected, c.ensemble.scoring, c.ensemble.lambda);
  const agg = { chosen: ac.score, rejected: ar.score };
  const ev = evalMetrics(agg, pairs, cost);
  const spread = [...ac.std, ...ar.std].reduce((a, x) => a + x, 0) / (2 * pairs.length);
  return {
    ...asMetrics(ev, "eval_"),
    ...groupAccuracy(agg, pairs, cost),
    eval_member_accuracy_mean: accSum / chosen.length,
    eval_member_std_mean: spread,
  };
}

/** Trains a reward model (or an ensemble) on preference pairs. */
export function trainRewardModel(
  config: RmConfigInput | RmConfig,
  data: RmData,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  return trainPairModel(config, data, hooks, "reward");
}

/** Trains a Safe-RLHF cost model (or an ensemble) on labelled safety pairs. */
export function trainCostModel(
  config: RmConfigInput | RmConfig,
  data: RmData<CostPair>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  return trainPairModel(parseCostConfig(config), data, hooks, "cost");
}
