/**
 * Supervised fine-tuning: minimise the masked next-token cross-entropy of the responses,
 *
 *   L = −Σ_t w_t log p(x_t | x_<t) / Σ_t w_t        (w_t = 1 on response tokens, 0 on prompts)
 *
 * one ONNX Runtime run per step computing the loss and every gradient (`Gpt.lossAndGrad`),
 * AdamW with warm-up + cosine, and an eval loss (the same masked NLL over held-out examples,
 * token-weighted over the whole set). Epoch e's batches come from Rng(seed).fork("epoch-e")
 * (grouped by length without packing), so step s's batch depends only on (seed, s): resume
 * replays.
 */

import { type Gpt, padBatch } from "../../engine/gpt/model.js";
import { epochBatches } from "../common/batches.js";
import type { TextCodec } from "../common/codec.js";
import { TrainLoop } from "../common/loop.js";
import {
  asModelDtype,
  finishWithModel,
  lrAt,
  makeOptimizer,
  openModel,
  restoreInto,
  saveModel,
  seqLenFor,
} from "../common/model.js";
import {
  crossEntropyCeiling,
  divergence,
  optimizerStep,
  requireBelowCeiling,
  requireFiniteWeights,
} from "../common/numeric.js";
import { releasing } from "../common/release.js";
import type { Metrics, TrainHooks, TrainResult } from "../common/run.js";
import { requireTraining, splitEval } from "../common/split.js";
import { buildRows, encodeExample, type SftExample, type SftRow } from "./packing.js";
import { parseSftConfig, type SftConfig, type SftConfigInput } from "./sftConfig.js";

export interface SftData {
  readonly train: readonly SftExample[];
  readonly eval?: readonly SftExample[];
}

/** Right-padded batch with per-position loss weights (position 0 is never predicted). */
function toBatch(model: Gpt, rows: readonly SftRow[], codec: TextCodec) {
  const b = padBatch(
    rows.map((r) => r.tokens),
    { padId: codec.padId },
  );
  const w = new Float64Array(b.batch * b.length);
  rows.forEach((r, i) => {
    w.set(r.weights, i * b.length);
  });
  return { ...b, lossMask: asModelDtype(model, w) };
}

/** Token-weighted masked NLL over `rows`. */
export async function evalLoss(
  model: Gpt,
  codec: TextCodec,
  rows: readonly SftRow[],
  batchSize: number,
): Promise<{ loss: number; tokens: number }> {
  let nll = 0;
  let n = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const b = toBatch(model, rows.slice(i, i + batchSize), codec);
    const lp = await model.logprobs(b);
    for (let j = 0; j < lp.length; j++) {
      if (j % b.length === 0) continue;
      nll -= b.lossMask[j]! * lp[j]!;
      n += b.lossMask[j]!;
    }
  }
  return { loss: n > 0 ? nll / n : Number.NaN, tokens: n };
}

export async function trainSft(
  input: SftConfigInput | SftConfig,
  data: SftData,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const c = parseSftConfig(input);
  const sets = splitEval(data.train, data.eval, c.train.eval_fraction, c.seed);
  requireTraining(sets.train, data.train.length, c.train.eval_fraction, "sft", "examples");
  const { model, codec } = openModel(c.model, {
    seed: c.seed,
    threads: hooks.threads,
    policy: true,
    texts: () => sets.train.flatMap((e) => [e.prompt, e.completion]),
  });
  // The model is this run's own: released however the run ends (a divergence, a refused
  // resume, a failed save), or its ONNX Runtime sessions would outlive it.
  return releasing(
    async () => {
      const seqLen = seqLenFor(c.train.seq_len, model);
      const rows = buildRows(codec, sets.train, { seqLen, packing: c.train.packing, seed: c.seed });
      const evalRows = sets.eval.map((e) => encodeExample(codec, e, seqLen));
      const perEpoch = Math.ceil(rows.length / c.train.batch_size);
      const total = c.train.steps ?? Math.max(1, Math.ceil(c.train.epochs * perEpoch));
      const loop = new TrainLoop("sft", hooks, c.run, total, c);
      const opt = makeOptimizer(model, c.optim);
      const ceiling = crossEntropyCeiling(model.config.vocab);

      let batches: number[][] = [];
      let batchesEpoch = -1;
      const batchAt = (s: number): SftRow[] => {
        const epoch = Math.floor(s / perEpoch);
        if (epoch !== batchesEpoch) {
          const byLength = c.train.packing ? undefined : (i: number) => rows[i]!.tokens.length;
          batches = epochBatches(
            rows.map((_, i) => i),
            c.train.batch_size,
            c.seed,
            `epoch-${epoch}`,
            byLength,
          );
          batchesEpoch = epoch;
        }
        return batches[s % perEpoch]!.map((i) => rows[i]!);
      };
      let window = { loss: 0, tokens: 0, steps: 0, t0: performance.now() };
      const save = (dir: string, step: number) => {
        requireFiniteWeights(model.params, `sft step ${step}`);
        saveModel(dir, model, codec, {
          step,
          optimizer: opt,
          extra: loop.resumeStamp(step, { window: { loss: window.loss, steps: window.steps } }),
        });
      };
      if (loop.resumePoint) {
        const { extra } = restoreInto(loop.resumePoint.dir, model, opt);
        loop.checkResumable(extra);
        const w = extra.window as { loss: number; steps: number };
        window = { ...window, loss: w.loss, steps: w.steps };
        loop.resumed();
      }
      return loop.running(async () => {
        let last: Metrics = {};
        let step = loop.startStep;
        let status: TrainResult["status"] = "completed";
        while (step < total) {
          if (loop.aborted) {
            loop.saveCheckpoint(step, (d) => save(d, step));
            status = "aborted";
            break;
          }
          const batch = toBatch(model, batchAt(step), codec);
          const { loss, grad } = await model.lossAndGrad(batch);
          const info = optimizerStep(
            opt,
            grad,
            lrAt(c.optim, step, total),
            `sft step ${step + 1}`,
            { loss },
            { loss: ceiling },
          );
          step += 1;
          window.loss += loss;
          window.steps += 1;
          window.tokens += batch.mask!.reduce((a, x) => a + x, 0);
          const live = { loss, lr: info.lr, grad_norm: info.gradNorm };
          loop.progress("train", step, live);
          if (loop.due(c.run.log_every, step)) {
            const secs = Math.max((performance.now() - window.t0) / 1000, 1e-9);
            last = {
              ...live,
              loss: window.loss / window.steps,
              epoch: step / perEpoch,
              tokens_per_s: window.tokens / secs,
            };
            loop.record("train", step, last);
            window = { loss: 0, tokens: 0, steps: 0, t0: performance.now() };
          }
          if (evalRows.length > 0 && loop.due(c.run.eval_every, step)) {
            const ev = await evalLoss(model, codec, evalRows, c.train.eval_batch_size);
            const at = `sft evaluation after step ${step}`;
            if (!Number.isFinite(ev.loss)) throw divergence(at, `the eval loss is ${ev.loss}`);
            requireBelowCeiling(at, "eval loss", ev.loss, ceiling);
            last = { ...last, eval_loss: ev.loss, eval_ppl: Math.exp(ev.loss) };
            loop.record("eval", step, { eval_loss: ev.loss, eval_ppl: Math.exp(ev.loss) });
            loop.progress("eval", step, { eval_loss: ev.loss });
          }
          if (c.run.checkpoint_every > 0 && step % c.run.checkpoint_every === 0 && step < total)
            loop.saveCheckpoint(step, (d) => save(d, step));
        }
        return finishWithModel(loop, model, codec, { status, step, last });
      });
    },
    () => model.dispose(),
  );
}
