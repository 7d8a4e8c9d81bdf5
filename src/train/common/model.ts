/**
 * Opening, optimising and saving the models trainers work on: a model comes from a checkpoint
 * (`init`, with its tokenizer) or is built new from an architecture and a tokenizer (read from
 * a file or trained on the trainer's own texts). Learning rates follow warm-up + cosine.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatWhere, KeelError, type Where } from "../../core/errors.js";
import { readJsonTextFile } from "../../core/files.js";
import type { Seed } from "../../core/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../../engine/checkpoint/checkpoint.js";
import { Gpt } from "../../engine/gpt/model.js";
import { AdamW } from "../../engine/optim/adamw.js";
import type { Ema } from "../../engine/optim/ema.js";
import { cosineLr } from "../../engine/optim/schedule.js";
import type { FloatArray } from "../../engine/params.js";
import { BpeTokenizer } from "../../engine/tokenizer/bpe.js";
import { SPECIAL_TOKENS, TextCodec, trainTokenizer } from "./codec.js";
import type { ModelSource, Optim } from "./config.js";
import type { TrainLoop } from "./loop.js";
import { requireFiniteWeights } from "./numeric.js";
import { releaseQuietly } from "./release.js";
import { checkPolicy } from "./role.js";
import type { Metrics, TrainResult } from "./run.js";

export interface OpenedModel {
  readonly model: Gpt;
  readonly codec: TextCodec;
  /** Trainer state saved with the checkpoint the model came from. */
  readonly extra: Record<string, unknown>;
}

const noTokenizer = (dir: string) =>
  new KeelError("KEEL_E_CHECKPOINT", "the checkpoint has no tokenizer.json", {
    where: { file: dir },
    hint: "trainers need the tokenizer the model was trained with",
  });

/** Loads a checkpoint that must carry a keel tokenizer. */
export function openCheckpoint(dir: string, threads?: number): OpenedModel {
  const ck = loadCheckpoint(dir, threads === undefined ? {} : { threads });
  let codec: TextCodec;
  try {
    // the model is loaded by now: refused for want of a tokenizer, it is released too
    if (!ck.tokenizer) throw noTokenizer(dir);
    codec = keelCodec(ck.tokenizer, { file: dir });
  } catch (e) {
    void releaseQuietly([() => ck.model.dispose()]);
    throw e;
  }
  return { model: ck.model, codec, extra: ck.extra };
}

/**
 * Checks, without loading its weights, that checkpoint `dir` holds a tokenizer a trainer can
 * use, failing as `openCheckpoint` would: trainers open their checkpoints only after the run's
 * record is written, and a check that passed would otherwise be a run that fails at its start.
 */
export function checkCheckpointTokenizer(dir: string): void {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) throw noTokenizer(dir);
  keelCodec(BpeTokenizer.fromJSON(readJsonTextFile(file), file), { file: dir });
}

/**
 * The codec of the tokenizer in `file` (a config's `model.tokenizer.file`). With `at`, the
 * config's file, line and field, a failure is told there, the tokenizer's path in the message
 * (`train.yaml:6: model.tokenizer.file: tok/: cannot read: is a directory`); without, at the
 * tokenizer's path and the field.
 */
export function tokenizerFromFile(file: string, at?: Where): TextCodec {
  const where = { file, field: "model.tokenizer.file" };
  try {
    let json: unknown;
    try {
      json = readJsonTextFile(file);
    } catch (e) {
      if (!(e instanceof KeelError)) throw e;
      const inDir = join(file, "tokenizer.json");
      const dir = isDirectory(file) && existsSync(inDir);
      throw new KeelError(e.code, e.detail, {
        where,
        ...(dir ? { hint: `name the tokenizer file inside it: ${inDir}` } : {}),
      });
    }
    return keelCodec(BpeTokenizer.fromJSON(json, file), where);
  } catch (e) {
    if (!at || !(e instanceof KeelError)) throw e;
    // The tokenizer's own field stays in the message (`pre_tokenizer`), the config's is in `at`.
    const inner = e.where?.field === where.field ? { file } : { file, ...e.where };
    throw new KeelError(e.code, `${formatWhere(inner)}: ${e.detail}`, {
      where: at,
      ...(e.hint ? { hint: e.hint } : {}),
      cause: e,
    });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The codec of a tokenizer that must carry keel's special tokens; the error says which tokenizer
 * (a checkpoint's, or the config's tokenizer file) lacks them.
 */
function keelCodec(tokenizer: BpeTokenizer, where: Where): TextCodec {
  const codec = TextCodec.of(tokenizer);
  if (codec) return codec;
  const missing = Object.values(SPECIAL_TOKENS).filter((t) => tokenizer.tokenToId(t) === undefined);
  throw new KeelError("KEEL_E_CONFIG", `the tokenizer has no special token ${missing.join(", ")}`, {
    where,
    hint: "train the tokenizer with keel (trainTokenizer, or tokenizer: {vocab_size}) or add <|pad|>, <|sep|>, <|eos|>",
  });
}

/** The model a trainer starts from: a checkpoint, or a new model (tokenizer trained on `texts`). */
export function openModel(
  source: ModelSource,
  o: {
    seed: Seed;
    threads?: number | undefined;
    texts?: () => Iterable<string>;
    /** A policy trainer's model: `init` must not be a reward or cost model. */
    policy?: boolean;
  },
): OpenedModel {
  if (source.init) {
    if (o.policy) checkPolicy(source.init, { file: source.init, field: "model.init" });
    return openCheckpoint(source.init, o.threads);
  }
  const arch = source.arch!;
  const tok = source.tokenizer!;
  let codec: TextCodec;
  if ("file" in tok) codec = tokenizerFromFile(tok.file);
  else {
    if (!o.texts)
      throw new KeelError("KEEL_E_CONFIG", "no texts to train the tokenizer on", {
        where: { field: "model.tokenizer" },
      });
    codec = keelCodec(trainTokenizer(o.texts(), tok.vocab_size), { field: "model.tokenizer" });
  }
  const model = new Gpt(
    {
      vocab: codec.vocabSize,
      dModel: arch.d_model,
      layers: arch.layers,
      heads: arch.heads,
      context: arch.context,
    },
    { seed: o.seed, ...(o.threads === undefined ? {} : { threads: o.threads }) },
  );
  return { model, codec, extra: {} };
}

/** `train.seq_len`, or the model's context when unset; longer than the context is refused. */
export function seqLenFor(seqLen: number | undefined, model: Gpt): number {
  const context = model.config.context;
  if (seqLen !== undefined && seqLen > context)
    throw new KeelError("KEEL_E_CONFIG", `seq_len ${seqLen} exceeds the model context ${context}`, {
      where: { field: "train.seq_len" },
    });
  return seqLen ?? context;
}

export function makeOptimizer(model: Gpt, o: Optim): AdamW {
  return new AdamW(model.params, {
    lr: o.lr,
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    weightDecay: o.weight_decay,
    ...(o.max_grad_norm === null ? {} : { maxGradNorm: o.max_grad_norm }),
  });
}

/** The learning rate of 0-based `step` out of `total`. */
export function lrAt(o: Optim, step: number, total: number): number {
  return cosineLr({ lr: o.lr, warmup: o.warmup, total, minLr: o.min_lr }, step);
}

/** Saves a model with its tokenizer (and, for resume, optimizer/EMA and trainer state). */
export function saveModel(
  dir: string,
  model: Gpt,
  codec: TextCodec,
  o: { step?: number; optimizer?: AdamW; ema?: Ema; extra?: Record<string, unknown> } = {},
): void {
  saveCheckpoint(dir, model, {
    tokenizer: codec.tokenizer,
    ...(o.step === undefined ? {} : { step: o.step }),
    ...(o.optimizer ? { optimizer: o.optimizer } : {}),
    ...(o.ema ? { ema: o.ema } : {}),
    ...(o.extra ? { extra: o.extra } : {}),
  });
}

/** Copies a float64 upstream gradient into the model's dtype. */
export function asModelDtype(model: Gpt, x: ArrayLike<number>): FloatArray {
  return model.params.dtype === "float64" ? Float64Array.from(x) : Float32Array.from(x);
}

/** Restores weights, optimizer state (and EMA) from a checkpoint into live objects. */
export function restoreInto(
  dir: string,
  model: Gpt,
  opt: AdamW | undefined,
  ema?: Ema,
): { step: number; extra: Record<string, unknown> } {
  const ck = loadCheckpoint(dir);
  // The loaded copy only carries the weights over: released also when its optimizer state or
  // EMA is refused (a torn or tampered checkpoint).
  try {
    model.params.flat.set(ck.model.params.flat);
    model.params.touch();
    if (opt) ck.restoreOptimizer(opt);
    if (ema && ck.hasEma) ck.restoreEma(ema);
    return { step: ck.step, extra: ck.extra };
  } finally {
    void releaseQuietly([() => ck.model.dispose()]);
  }
}

/**
 * The reference checkpoint, which must read the policy's token ids as the same tokens (one
 * tokenizer) and hold sequences of `seqLen` tokens: otherwise its log-probs, which every DPO
 * loss subtracts and PPO's KL penalty compares with, would be those of other text, and training
 * would follow them silently.
 */
export function openReference(
  dir: string,
  codec: TextCodec,
  seqLen: number,
  policyField: "model.init" | "policy.init",
  threads?: number,
): Gpt {
  const ref = openCheckpoint(dir, threads);
  const why =
    JSON.stringify(ref.codec.tokenizer.toJSON()) !== JSON.stringify(codec.tokenizer.toJSON())
      ? `has another tokenizer than the policy (${policyField}): it would read the policy's token ids as other tokens`
      : ref.model.config.context < seqLen
        ? `has context ${ref.model.config.context}, shorter than the ${seqLen}-token sequences the policy trains on`
        : undefined;
  if (!why) return ref.model;
  void releaseQuietly([() => ref.model.dispose()]);
  throw new KeelError("KEEL_E_CONFIG", `the reference ${dir} ${why}`, {
    where: { file: dir, field: "reference.init" },
    hint: `use a reference with the policy's tokenizer, usually the checkpoint ${policyField} starts from (or leave reference out to use ${policyField} itself)`,
  });
}

/**
 * The end of a one-model run (SFT, DPO): a completed run saves its model to the loop's final
 * directory (its weights checked finite first), an aborted one saves nothing more; then the
 * summary.
 */
export function finishWithModel(
  loop: TrainLoop,
  model: Gpt,
  codec: TextCodec,
  end: { status: TrainResult["status"]; step: number; last: Metrics },
): TrainResult {
  const { status, step, last } = end;
  const dir = status === "completed" ? loop.finalDir : undefined;
  if (dir) {
    requireFiniteWeights(model.params, `${loop.trainer} step ${step}`);
    saveModel(dir, model, codec, { step, extra: loop.stamp(step) });
  }
  return loop.finish(status, step, last, dir);
}
