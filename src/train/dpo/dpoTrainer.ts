/**
 * DPO-family training (losses/dpo.ts). The reference model's summed response log-probs are
 * computed once for every pair before training (the reference never changes); each step then
 * runs the policy forward on B pairs (2B rows), sums log-probs over the response tokens,
 * computes the loss and ∂L/∂π in TypeScript, spreads ∂L/∂π_c over the chosen response's token
 * positions (and likewise for rejected) as the upstream gradient of the `logprobs` head, and
 * takes an AdamW step. Per-pair weights enter the loss's weighted mean.
 */

import { KeelError } from "../../core/errors.js";
import { contentToText, type PreferencePair } from "../../core/types.js";
import type { Gpt } from "../../engine/gpt/model.js";
import { epochBatches } from "../common/batches.js";
import type { TextCodec } from "../common/codec.js";
import { TrainLoop } from "../common/loop.js";
import {
  asModelDtype,
  finishWithModel,
  lrAt,
  makeOptimizer,
  openModel,
  openReference,
  restoreInto,
  saveModel,
  seqLenFor,
} from "../common/model.js";
import {
  crossEntropyCeiling,
  divergence,
  optimizerStep,
  requireFiniteWeights,
} from "../common/numeric.js";
import { releasing } from "../common/release.js";
import { checkPolicy } from "../common/role.js";
import type { Metrics, TrainHooks, TrainResult } from "../common/run.js";
import { promptKey, requireTraining, splitEval } from "../common/split.js";
import { DPO_LOSSES } from "../losses/dpo.js";
import {
  checkPairs,
  type EncodedPair,
  type PairRows,
  pairBatch,
  requireWeight,
} from "../rm/pairs.js";
import { type PairTable, RawPairSets } from "../rm/pairTable.js";
import { type DpoConfig, type DpoConfigInput, parseDpoConfig } from "./dpoConfig.js";

export interface DpoData {
  readonly train: readonly PreferencePair[];
  readonly eval?: readonly PreferencePair[];
}

/** Σ of response-token log-probs per row of a pair batch (chosen rows, then rejected). */
function responseSums(
  lp: ArrayLike<number>,
  pairs: readonly EncodedPair[],
  T: number,
): Float64Array {
  const n = pairs.length;
  const out = new Float64Array(2 * n);
  for (let row = 0; row < 2 * n; row++) {
    const p = pairs[row % n]!;
    const [start, len] =
      row < n ? [p.chosenPrompt, p.chosen.length] : [p.rejectedPrompt, p.rejected.length];
    let s = 0;
    for (let t = start; t < len; t++) s += lp[row * T + t]!;
    out[row] = s;
  }
  return out;
}

/** Summed response log-probs of every pair under `model`. */
export async function pairLogprobs(
  model: Gpt,
  pairs: PairRows,
  padId: number,
  batchSize: number,
): Promise<{ chosen: Float64Array; rejected: Float64Array }> {
  const chosen = new Float64Array(pairs.length);
  const rejected = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i += batchSize) {
    const part = pairs.slice(i, i + batchSize);
    const b = pairBatch(part, padId);
    const s = responseSums(await model.logprobs(b), part, b.length);
    chosen.set(s.subarray(0, part.length), i);
    rejected.set(s.subarray(part.length), i);
  }
  return { chosen, rejected };
}

/** Encoded pairs with their reference model's summed log-probs (computed once, up front). */
interface ScoredPairs {
  readonly train: PairTable;
  readonly ref: { chosen: Float64Array; rejected: Float64Array };
  readonly padId: number;
}

/**
 * One optimiser step on the pairs `idx`: the loss's gradient with respect to each response's
 * summed log-prob is the upstream gradient of every response token's log-prob. Returns the
 * step's metrics.
 */
async function dpoStep(
  model: Gpt,
  opt: ReturnType<typeof makeOptimizer>,
  idx: readonly number[],
  d: ScoredPairs,
  c: DpoConfig,
  o: { lr: number; place: string },
): Promise<Metrics> {
  const part = d.train.pairs(idx);
  const batch = pairBatch(part, d.padId);
  const T = batch.length;
  const sums = responseSums(await model.logprobs(batch), part, T); // [2n]: chosen, then rejected
  const n = part.length;
  const ref = {
    refChosen: idx.map((i) => d.ref.chosen[i]!),
    refRejected: idx.map((i) => d.ref.rejected[i]!),
    weight: part.map((p) => p.weight),
  };
  const lossOptions = { beta: c.beta, labelSmoothing: c.label_smoothing };
  const lossFn = DPO_LOSSES[c.loss];
  const res = lossFn(
    { policyChosen: sums.subarray(0, n), policyRejected: sums.subarray(n), ...ref },
    lossOptions,
  );
  const up = new Float64Array(2 * n * T); // [2n, T]
  for (let row = 0; row < 2 * n; row++) {
    const p = part[row % n]!;
    const [start, len, g] =
      row < n
        ? [p.chosenPrompt, p.chosen.length, res.grads.policyChosen![row]!]
        : [p.rejectedPrompt, p.rejected.length, res.grads.policyRejected![row - n]!];
    for (let t = start; t < len; t++) up[row * T + t] = g;
  }
  const grad = await model.backward(batch, { logprobs: asModelDtype(model, up) });
  const info = optimizerStep(
    opt,
    grad,
    o.lr,
    o.place,
    { loss: res.loss, "chosen responses' NLL per token": chosenNll(sums, part) },
    {
      // the know-nothing policy is the reference itself (h = 0: ln 2 for the sigmoid loss)
      loss: {
        baseline: lossFn(
          { policyChosen: ref.refChosen, policyRejected: ref.refRejected, ...ref },
          lossOptions,
        ).loss,
        rule: `the batch's ${c.loss} loss with the policy equal to the reference`,
      },
      // the loss can fall to 0 while every log-probability falls to −1e5 (a destroyed policy)
      "chosen responses' NLL per token": crossEntropyCeiling(model.config.vocab),
    },
  );
  return { loss: res.loss, ...res.metrics, lr: info.lr, grad_norm: info.gradNorm };
}

/** −Σ log π over the chosen responses' tokens of a batch, per token (`sums` as responseSums). */
function chosenNll(sums: Float64Array, pairs: readonly EncodedPair[]): number {
  let nll = 0;
  let tokens = 0;
  pairs.forEach((p, i) => {
    nll -= sums[i]!;
    tokens += p.chosen.length - p.chosenPrompt;
  });
  return tokens > 0 ? nll / tokens : 0;
}

/** The loss and its metrics on the held-out pairs, prefixed `eval_`. */
async function dpoEval(model: Gpt, d: ScoredPairs, c: DpoConfig): Promise<Metrics> {
  const pol = await pairLogprobs(model, d.train, d.padId, c.train.eval_batch_size);
  const ev = DPO_LOSSES[c.loss](
    {
      policyChosen: pol.chosen,
      policyRejected: pol.rejected,
      refChosen: d.ref.chosen,
      refRejected: d.ref.rejected,
    },
    { beta: c.beta, labelSmoothing: c.label_smoothing },
  );
  return Object.fromEntries(
    Object.entries({ loss: ev.loss, ...ev.metrics }).map(([k, v]) => [`eval_${k}`, v]),
  );
}

/**
 * The reference's log-probs, every one finite: a NaN one (a checkpoint whose weights are finite
 * but overflow its forward pass, as a run that diverged leaves) would make every step's loss NaN,
 * told as a divergence of this run's learning rate.
 */
function requireFiniteReference(
  c: DpoConfig,
  sets: readonly { chosen: Float64Array; rejected: Float64Array }[],
): void {
  const all = sets.flatMap((s) => [...s.chosen, ...s.rejected]);
  const bad = all.filter((x) => !Number.isFinite(x));
  if (bad.length === 0) return;
  const field = c.reference ? "reference.init" : "model.init";
  const dir = c.reference?.init ?? c.model.init;
  throw new KeelError(
    "KEEL_E_NUMERIC",
    `the reference model gives ${bad.length} of ${all.length} responses a log-probability of ${bad[0]}`,
    {
      where: { ...(dir === undefined ? {} : { file: dir }), field },
      hint: "its weights are finite but its outputs are not (a checkpoint saved by a run that had diverged?); use another checkpoint",
    },
  );
}

/**
 * The pairs encoded with the policy's codec, and their summed response log-probs under the
 * reference (`reference.init`, or a copy of the policy as it starts). The reference is opened
 * here and released here, whether scoring succeeds or not: it is needed for nothing after.
 */
async function scoreWithReference(
  c: DpoConfig,
  raw: RawPairSets<PreferencePair>,
  o: { model: Gpt; codec: TextCodec; seqLen: number; threads: number | undefined },
) {
  const { model, codec, seqLen } = o;
  if (c.reference)
    checkPolicy(c.reference.init, { file: c.reference.init, field: "reference.init" });
  const ref = c.reference
    ? openReference(c.reference.init, codec, seqLen, "model.init", o.threads)
    : model.clone();
  return releasing(
    async () => {
      const { train, eval: evalPairs } = raw.encode(codec, seqLen, { cost: false, drop: true });
      const refTrain = await pairLogprobs(ref, train, codec.padId, c.train.eval_batch_size);
      const refEval = await pairLogprobs(ref, evalPairs, codec.padId, c.train.eval_batch_size);
      return { train, evalPairs, refTrain, refEval };
    },
    () => ref.dispose(),
  );
}

export async function trainDpo(
  input: DpoConfigInput | DpoConfig,
  data: DpoData,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const c = parseDpoConfig(input);
  checkPairs(data.train, "train", { cost: false });
  if (data.eval) checkPairs(data.eval, "eval", { cost: false });
  const sets = splitEval(data.train, data.eval, c.train.eval_fraction, c.seed, promptKey);
  requireTraining(sets.train, data.train.length, c.train.eval_fraction, "dpo", "pairs");
  requireWeight(sets.train, "dpo");
  // Not awaited here: this frame (and `data`) ends now, so the texts go once encoded.
  return runDpo(c, new RawPairSets(sets), hooks);
}

async function runDpo(
  c: DpoConfig,
  raw: RawPairSets<PreferencePair>,
  hooks: TrainHooks,
): Promise<TrainResult> {
  const { model, codec } = openModel(c.model, {
    seed: c.seed,
    threads: hooks.threads,
    policy: true,
    texts: () =>
      raw.sets.train.flatMap((p) => [
        contentToText(p.prompt),
        contentToText(p.chosen),
        contentToText(p.rejected),
      ]),
  });
  // The policy is this run's own: released however the run ends (a divergence, a refused
  // reference or resume, a failed save), or its ONNX Runtime sessions would outlive it.
  return releasing(
    async () => {
      const seqLen = seqLenFor(c.train.seq_len, model);
      const { train, evalPairs, refTrain, refEval } = await scoreWithReference(c, raw, {
        model,
        codec,
        seqLen,
        threads: hooks.threads,
      });
      requireFiniteReference(c, [refTrain, refEval]);

      const B = c.train.batch_size;
      const perEpoch = Math.ceil(train.length / B);
      const total = c.train.steps ?? Math.max(1, Math.ceil(c.train.epochs * perEpoch));
      const loop = new TrainLoop("dpo", hooks, c.run, total, c);
      const opt = makeOptimizer(model, c.optim);
      if (loop.resumePoint) {
        loop.checkResumable(restoreInto(loop.resumePoint.dir, model, opt).extra);
        loop.resumed();
      }
      const save = (dir: string, step: number) => {
        requireFiniteWeights(model.params, `dpo step ${step}`);
        saveModel(dir, model, codec, { step, optimizer: opt, extra: loop.resumeStamp(step) });
      };
      return loop.running(async () => {
        let last: Metrics = {};
        let step = loop.startStep;
        let status: TrainResult["status"] = "completed";
        let batches: number[][] = [];
        let batchesEpoch = -1;
        while (step < total) {
          if (loop.aborted) {
            const at = step;
            loop.saveCheckpoint(at, (d) => save(d, at));
            status = "aborted";
            break;
          }
          const epoch = Math.floor(step / perEpoch);
          if (epoch !== batchesEpoch) {
            batches = epochBatches(
              Array.from({ length: train.length }, (_, i) => i),
              B,
              c.seed,
              `epoch-${epoch}`,
              (i) => train.longest(i),
            );
            batchesEpoch = epoch;
          }
          const idx = batches[step % perEpoch]!;
          const live = await dpoStep(
            model,
            opt,
            idx,
            { train, ref: refTrain, padId: codec.padId },
            c,
            {
              lr: lrAt(c.optim, step, total),
              place: `dpo step ${step + 1}`,
            },
          );
          step += 1;
          loop.progress("train", step, live);
          if (loop.due(c.run.log_every, step)) {
            loop.record("train", step, live);
            last = live;
          }
          if (evalPairs.length > 0 && loop.due(c.run.eval_every, step)) {
            const em = await dpoEval(
              model,
              { train: evalPairs, ref: refEval, padId: codec.padId },
              c,
            );
            if (!Number.isFinite(em.eval_loss!))
              throw divergence(
                `dpo evaluation after step ${step}`,
                `the eval loss is ${em.eval_loss}`,
              );
            loop.record("eval", step, em);
            loop.progress("eval", step, em);
            last = { ...last, ...em };
          }
          if (c.run.checkpoint_every > 0 && step % c.run.checkpoint_every === 0 && step < total) {
            const at = step;
            loop.saveCheckpoint(at, (dd) => save(dd, at));
          }
        }
        return finishWithModel(loop, model, codec, { status, step, last });
      });
    },
    () => model.dispose(),
  );
}
