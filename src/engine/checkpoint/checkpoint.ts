/**
 * GPT checkpoints: a directory with
 *   model.safetensors      every parameter under its GPT-2 name
 *   optimizer.safetensors  AdamW moments m, v (flat) and the step count, when given
 *   ema.safetensors        EMA weights (flat), when given
 *   tokenizer.json         the Hugging Face tokenizer, when given
 *   config.json            written last: format, model config, step, trainer `extra`, and the
 *                          SHA-256 of every file above
 * Each file is written atomically; because config.json is written last and lists the hashes,
 * a crash mid-save leaves either the previous checkpoint or a mismatch that `loadCheckpoint`
 * reports (KEEL_E_CHECKPOINT), never a silently mixed model. Resume = load, then
 * `restoreOptimizer` / `restoreEma` into fresh instances.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { type GptConfig, paramSpecs } from "../gpt/config.js";
import { Gpt } from "../gpt/model.js";
import { numel } from "../graph.js";
import type { AdamW } from "../optim/adamw.js";
import type { Ema } from "../optim/ema.js";
import type { FloatArray } from "../params.js";
import { BpeTokenizer } from "../tokenizer/bpe.js";
import { writeFileAtomic } from "./atomic.js";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type ConfigFile,
  parseConfigFile,
} from "./config-file.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  type SafetensorsFile,
  type StTensor,
} from "./safetensors.js";
import { checkedFloats, checkSecondMoment, checkWeights, readVerified, sha256 } from "./verify.js";

export { CHECKPOINT_FILES } from "./config-file.js";

export interface SaveOptions {
  readonly step?: number;
  readonly optimizer?: AdamW;
  readonly ema?: Ema;
  readonly tokenizer?: BpeTokenizer;
  /** Trainer state to resume with (data position, RNG labels, metrics…); JSON only. */
  readonly extra?: Record<string, unknown>;
}

function flatTensor(name: string, data: FloatArray): [string, StTensor] {
  return [
    name,
    { dtype: data instanceof Float64Array ? "F64" : "F32", shape: [data.length], data },
  ];
}

export function saveCheckpoint(dir: string, model: Gpt, o: SaveOptions = {}): void {
  const files: Record<string, string> = {};
  const put = (name: string, chunks: Uint8Array[]) => {
    writeFileAtomic(join(dir, name), chunks);
    files[name] = sha256(chunks);
  };
  const p = model.params;
  const dtype = p.dtype === "float64" ? "F64" : "F32";
  put(
    "model.safetensors",
    encodeSafetensors(
      new Map(p.specs.map((s) => [s.name, { dtype, shape: s.shape, data: p.view(s.name) }])),
      { format: "pt" },
    ),
  );
  if (o.optimizer) {
    const opt = o.optimizer;
    put(
      "optimizer.safetensors",
      encodeSafetensors(new Map([flatTensor("adamw.m", opt.m), flatTensor("adamw.v", opt.v)]), {
        t: String(opt.t),
        lr: String(opt.lr),
      }),
    );
  }
  if (o.ema)
    put(
      "ema.safetensors",
      encodeSafetensors(new Map([flatTensor("ema", o.ema.shadow)]), { decay: String(o.ema.decay) }),
    );
  if (o.tokenizer) put("tokenizer.json", [Buffer.from(JSON.stringify(o.tokenizer.toJSON()))]);
  const meta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: model.config,
    step: o.step ?? 0,
    files,
    extra: o.extra ?? {},
  };
  writeFileAtomic(join(dir, "config.json"), `${JSON.stringify(meta, null, 2)}\n`);
}

export interface Checkpoint {
  readonly model: Gpt;
  readonly step: number;
  readonly extra: Record<string, unknown>;
  readonly tokenizer: BpeTokenizer | undefined;
  readonly hasOptimizer: boolean;
  readonly hasEma: boolean;
  /** Loads the saved moments and step count into `opt` (built over this model's params). */
  restoreOptimizer(opt: AdamW): void;
  restoreEma(ema: Ema): void;
  /**
   * Reads and checks the optimizer state and EMA weights, where there are any, as a resume
   * would (sizes, hashes, finite values, Adam's second moment ≥ 0), without loading them into
   * anything: `keel model info` says "yes" only of state a resume can use.
   */
  checkState(): void;
}

/** Bytes a tokenizer.json may have (the largest public ones are tens of megabytes). */
const MAX_TOKENIZER_BYTES = 200_000_000;

/** Whether `dir` holds a checkpoint (its config.json; the weights are checked on load). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, "config.json"));
}

/**
 * The number of parameters `paramSpecs(c)` lists, in closed form, so that an absurd config
 * (a million layers) is measured before anything is built for it.
 */
export function parameterCount(c: GptConfig): number {
  const C = c.dModel;
  return c.vocab * C + c.context * C + c.layers * (12 * C * C + 13 * C) + 4 * C + 2;
}

function readTokenizer(dir: string, files: Record<string, string | undefined>): BpeTokenizer {
  const path = join(dir, "tokenizer.json");
  const buf = readVerified(dir, "tokenizer.json", files, {
    max: MAX_TOKENIZER_BYTES,
    why: "a tokenizer.json this large is not one;",
  });
  let json: unknown;
  try {
    json = JSON.parse(buf.toString("utf8"));
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", "tokenizer.json is not JSON", {
      where: { file: path },
      cause: e,
    });
  }
  return BpeTokenizer.fromJSON(json, path);
}

/**
 * model.safetensors, checked against the model config.json describes. Each parameter takes 4
 * (F32) or 8 (F64) bytes, so the weights file's size bounds the model before a byte is
 * allocated: config.json cannot ask for gigabytes its weights do not hold.
 */
function readWeights(dir: string, meta: ConfigFile, count: number): SafetensorsFile {
  const c = meta.config;
  const arch = `vocab ${c.vocab}, dModel ${c.dModel}, layers ${c.layers}, context ${c.context}`;
  const weightsFile = join(dir, "model.safetensors");
  const weights = decodeSafetensors(
    readVerified(dir, "model.safetensors", meta.files, {
      min: 8 + 4 * count,
      max: 8 + MAX_HEADER_BYTES + 8 * count,
      why: `config.json describes a model of ${count} parameters (${arch}), so`,
    }),
    weightsFile,
  );
  checkWeights(paramSpecs(c), weights, weightsFile);
  return weights;
}

/** The size bounds of a file of `k` floats per parameter of a model of `count` parameters. */
const stateBytes = (count: number, k: number, what: string) => ({
  min: 8 + 4 * k * count,
  max: 8 + MAX_HEADER_BYTES + 8 * k * count,
  why: `${what} of a model of ${count} parameters,`,
});

/** optimizer.safetensors into `opt`: AdamW's moments m and v, and its step count t. */
function restoreAdamW(dir: string, meta: ConfigFile, count: number, opt: AdamW): void {
  // both moments are checked before either is copied: a refused file leaves `opt` as it was
  const into = opt.m instanceof Float64Array ? "float64" : "float32";
  const { m, v, t } = readAdamW(dir, meta, count, into);
  opt.m.set(m);
  opt.v.set(v);
  opt.t = t;
}

/** optimizer.safetensors, checked: AdamW's moments m and v, and its step count t. */
function readAdamW(
  dir: string,
  meta: ConfigFile,
  count: number,
  into: "float32" | "float64",
): { m: FloatArray; v: FloatArray; t: number } {
  const file = join(dir, "optimizer.safetensors");
  const buf = readVerified(
    dir,
    "optimizer.safetensors",
    meta.files,
    stateBytes(count, 2, "AdamW's m and v"),
  );
  const st = decodeSafetensors(buf, file);
  const t = st.metadata.t ?? "0";
  if (!/^\d{1,15}$/.test(t))
    throw new KeelError("KEEL_E_CHECKPOINT", `step count t ${JSON.stringify(t)} is not a count`, {
      where: { file, field: "__metadata__.t" },
    });
  const m = checkedFloats(st.tensors.get("adamw.m"), count, "tensor adamw.m", file, into);
  const v = checkedFloats(st.tensors.get("adamw.v"), count, "tensor adamw.v", file, into);
  checkSecondMoment(v, "tensor adamw.v", file);
  return { m, v, t: Number(t) };
}

/** ema.safetensors, checked: the EMA's shadow weights. */
function readEmaShadow(
  dir: string,
  meta: ConfigFile,
  count: number,
  into: "float32" | "float64",
): FloatArray {
  const file = join(dir, "ema.safetensors");
  const buf = readVerified(
    dir,
    "ema.safetensors",
    meta.files,
    stateBytes(count, 1, "the EMA weights"),
  );
  return checkedFloats(
    decodeSafetensors(buf, file).tensors.get("ema"),
    count,
    "tensor ema",
    file,
    into,
  );
}

export function loadCheckpoint(dir: string, opts: { threads?: number } = {}): Checkpoint {
  const cfgPath = join(dir, "config.json");
  if (!hasCheckpoint(dir))
    throw new KeelError("KEEL_E_NOT_FOUND", `no checkpoint at ${dir} (config.json missing)`, {
      where: { file: cfgPath },
    });
  const meta = parseConfigFile(cfgPath);
  const c = meta.config;
  const count = parameterCount(c);
  const weightsFile = join(dir, "model.safetensors");
  const weights = readWeights(dir, meta, count);
  const tokenizer = meta.files["tokenizer.json"] ? readTokenizer(dir, meta.files) : undefined;
  if (tokenizer && tokenizer.vocabSize > c.vocab)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `tokenizer.json has ${tokenizer.vocabSize} tokens but the model's vocab is ${c.vocab}`,
      {
        where: { file: join(dir, "tokenizer.json") },
        hint: "the tokenizer belongs to another model",
      },
    );
  // Built from the file's tensors rather than drawn at random and overwritten: the random
  // fill was most of a load's time. checkWeights has seen every parameter with its shape.
  const model = new Gpt(c, {
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    weights: (s) =>
      checkedFloats(
        weights.tensors.get(s.name),
        numel(s.shape),
        `tensor ${s.name}`,
        weightsFile,
        c.dtype,
      ),
  });
  return {
    model,
    step: meta.step,
    extra: meta.extra,
    tokenizer,
    hasOptimizer: meta.files["optimizer.safetensors"] !== undefined,
    hasEma: meta.files["ema.safetensors"] !== undefined,
    restoreOptimizer(opt) {
      restoreAdamW(dir, meta, count, opt);
    },
    restoreEma(ema) {
      ema.shadow.set(
        readEmaShadow(dir, meta, count, ema.shadow instanceof Float64Array ? "float64" : "float32"),
      );
    },
    checkState() {
      if (meta.files["optimizer.safetensors"] !== undefined) readAdamW(dir, meta, count, c.dtype);
      if (meta.files["ema.safetensors"] !== undefined) readEmaShadow(dir, meta, count, c.dtype);
    },
  };
}
