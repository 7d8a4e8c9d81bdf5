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
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { type GptConfig, GptConfigSchema, paramSpecs } from "../gpt/config.js";
import { Gpt } from "../gpt/model.js";
import { numel } from "../graph.js";
import type { AdamW } from "../optim/adamw.js";
import type { Ema } from "../optim/ema.js";
import type { FloatArray, ParamSpec } from "../params.js";
import { BpeTokenizer } from "../tokenizer/bpe.js";
import { writeFileAtomic } from "./atomic.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  type SafetensorsFile,
  type StTensor,
} from "./safetensors.js";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 in hex");

/** config.json's `format`, and the `version` of it this keel writes and reads. */
const CHECKPOINT_FORMAT = "keel-gpt";
const CHECKPOINT_VERSION = 1;

/**
 * config.json. `files` names exactly the files a checkpoint may hold, so no name in it can
 * point outside the directory.
 */
const ConfigFileSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  config: GptConfigSchema,
  step: z.int().min(0),
  files: z.strictObject({
    "model.safetensors": Sha256,
    "optimizer.safetensors": Sha256.optional(),
    "ema.safetensors": Sha256.optional(),
    "tokenizer.json": Sha256.optional(),
  }),
  extra: z.record(z.string(), z.unknown()),
});

/** Every file a checkpoint directory may hold. */
export const CHECKPOINT_FILES: readonly string[] = [
  "config.json",
  ...Object.keys(ConfigFileSchema.shape.files.shape),
];

export interface SaveOptions {
  readonly step?: number;
  readonly optimizer?: AdamW;
  readonly ema?: Ema;
  readonly tokenizer?: BpeTokenizer;
  /** Trainer state to resume with (data position, RNG labels, metrics…); JSON only. */
  readonly extra?: Record<string, unknown>;
}

const sha256 = (chunks: readonly Uint8Array[]) => {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
};

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
}

/** Bytes a tokenizer.json may have (the largest public ones are tens of megabytes). */
const MAX_TOKENIZER_BYTES = 200_000_000;

/**
 * Reads a file config.json lists and checks it against the listed hash. `bytes` bounds its
 * size before anything is read, so a hostile or mismatched checkpoint cannot make keel read
 * (and hash, and hold) more than its config implies.
 */
function readVerified(
  dir: string,
  name: string,
  files: Record<string, string | undefined>,
  bytes: { readonly min?: number; readonly max: number; readonly why: string },
): Buffer {
  const path = join(dir, name);
  if (files[name] === undefined)
    throw new KeelError("KEEL_E_CHECKPOINT", `config.json does not list ${name}`, {
      where: { file: join(dir, "config.json"), field: `files.${name}` },
    });
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} is listed in config.json but cannot be read: ${describeFsError(e)}`,
      { where: { file: path }, cause: e },
    );
  }
  if (size > bytes.max || size < (bytes.min ?? 0))
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} is ${size} bytes; ${bytes.why} it must be ${size > bytes.max ? `at most ${bytes.max}` : `at least ${bytes.min}`}`,
      { where: { file: path }, hint: "the files do not belong together; get a complete copy" },
    );
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", `cannot read ${name}: ${describeFsError(e)}`, {
      where: { file: path },
      cause: e,
    });
  }
  if (sha256([buf]) !== files[name]) {
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} does not match the hash in config.json (torn or edited checkpoint)`,
      {
        where: { file: path },
        hint: "restore the checkpoint from a complete save",
      },
    );
  }
  return buf;
}

/** Index of the first NaN or ±Infinity in `a`, or -1 (x − x is 0 exactly for finite x). */
function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Refuses a tensor holding NaN or ±Infinity: loaded, it would turn every score into NaN. */
function checkFinite(data: ArrayLike<number>, what: string, file: string): void {
  const i = firstNonFinite(data);
  if (i >= 0)
    throw new KeelError("KEEL_E_CHECKPOINT", `${what} holds ${data[i]} at element ${i}`, {
      where: { file },
      hint: "the weights are corrupt or the run that wrote them diverged; use an earlier checkpoint",
    });
}

/** The floats of `t`, checked to be present, float, `n` long and finite. */
function checkedFloats(t: StTensor | undefined, n: number, what: string, file: string): FloatArray {
  if (!t) throw new KeelError("KEEL_E_CHECKPOINT", `${what} is missing`, { where: { file } });
  if (t.data instanceof Int32Array || t.data instanceof BigInt64Array)
    throw new KeelError("KEEL_E_CHECKPOINT", `${what} is ${t.dtype}; expected F32 or F64`, {
      where: { file },
    });
  if (t.data.length !== n)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${what} has ${t.data.length} values; the model needs ${n}`,
      { where: { file } },
    );
  checkFinite(t.data, what, file);
  return t.data;
}

function copyInto(dst: FloatArray, t: StTensor | undefined, what: string, file: string): void {
  dst.set(checkedFloats(t, dst.length, what, file));
}

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

/**
 * The tensors of model.safetensors checked against the model config.json describes: every
 * parameter present with its shape, nothing else (an extra tensor means the file and the
 * config disagree about the architecture).
 */
function checkWeights(specs: readonly ParamSpec[], st: SafetensorsFile, file: string): void {
  const wanted = new Map(specs.map((s) => [s.name, s.shape]));
  for (const [name, t] of st.tensors) {
    const shape = wanted.get(name);
    if (shape === undefined)
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `tensor ${name} is not a parameter of the model config.json describes`,
        { where: { file }, hint: "config.json and model.safetensors come from different models" },
      );
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `tensor ${name} has shape [${t.shape.join(", ")}]; config.json's model needs [${shape.join(", ")}]`,
        { where: { file } },
      );
  }
  for (const s of specs)
    if (!st.tensors.has(s.name))
      throw new KeelError("KEEL_E_CHECKPOINT", `tensor ${s.name} is missing`, {
        where: { file },
        hint: "config.json and model.safetensors come from different models",
      });
}

/**
 * Refuses config.json of another kind of model (a Hugging Face config.json has no `format`) and
 * of a newer keel's checkpoint format by saying so, before the schema would name a field.
 */
function checkFormat(raw: unknown, cfgPath: string): void {
  const { format, version } = (typeof raw === "object" && raw !== null ? raw : {}) as {
    format?: unknown;
    version?: unknown;
  };
  if (format !== CHECKPOINT_FORMAT)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `not a keel checkpoint: config.json's format is ${JSON.stringify(format ?? null)}, not "${CHECKPOINT_FORMAT}"`,
      {
        where: { file: cfgPath, field: "format" },
        hint: "pass a directory written by keel (keel model init, keel train, a run's model)",
      },
    );
  if (typeof version === "number" && version > CHECKPOINT_VERSION)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `the checkpoint is in ${CHECKPOINT_FORMAT} format version ${version}, written by a newer keel; this keel reads version ${CHECKPOINT_VERSION}`,
      { where: { file: cfgPath, field: "version" }, hint: "upgrade keel to load it" },
    );
}

function parseConfigFile(cfgPath: string): z.output<typeof ConfigFileSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", "config.json is not JSON", {
      where: { file: cfgPath },
      cause: e,
    });
  }
  checkFormat(raw, cfgPath);
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeelError("KEEL_E_CHECKPOINT", `config.json: ${issue.message}`, {
      where: { file: cfgPath, field: issue.path.join(".") },
    });
  }
  return parsed.data;
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

export function loadCheckpoint(dir: string, opts: { threads?: number } = {}): Checkpoint {
  const cfgPath = join(dir, "config.json");
  if (!hasCheckpoint(dir))
    throw new KeelError("KEEL_E_NOT_FOUND", `no checkpoint at ${dir} (config.json missing)`, {
      where: { file: cfgPath },
    });
  const meta = parseConfigFile(cfgPath);
  const c = meta.config;
  // Each parameter takes 4 (F32) or 8 (F64) bytes, so the weights file's size bounds the model
  // before a byte is allocated: config.json cannot ask for gigabytes its weights do not hold.
  const count = parameterCount(c);
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
  const specs = paramSpecs(c);
  checkWeights(specs, weights, weightsFile);
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
      checkedFloats(weights.tensors.get(s.name), numel(s.shape), `tensor ${s.name}`, weightsFile),
  });
  const stateBytes = (k: number, what: string) => ({
    min: 8 + 4 * k * count,
    max: 8 + MAX_HEADER_BYTES + 8 * k * count,
    why: `${what} of a model of ${count} parameters,`,
  });
  return {
    model,
    step: meta.step,
    extra: meta.extra,
    tokenizer,
    hasOptimizer: meta.files["optimizer.safetensors"] !== undefined,
    hasEma: meta.files["ema.safetensors"] !== undefined,
    restoreOptimizer(opt) {
      const file = join(dir, "optimizer.safetensors");
      const buf = readVerified(
        dir,
        "optimizer.safetensors",
        meta.files,
        stateBytes(2, "AdamW's m and v"),
      );
      const st = decodeSafetensors(buf, file);
      const t = st.metadata.t ?? "0";
      if (!/^\d{1,15}$/.test(t))
        throw new KeelError(
          "KEEL_E_CHECKPOINT",
          `step count t ${JSON.stringify(t)} is not a count`,
          {
            where: { file, field: "__metadata__.t" },
          },
        );
      copyInto(opt.m, st.tensors.get("adamw.m"), "tensor adamw.m", file);
      copyInto(opt.v, st.tensors.get("adamw.v"), "tensor adamw.v", file);
      opt.t = Number(t);
    },
    restoreEma(ema) {
      const file = join(dir, "ema.safetensors");
      const buf = readVerified(
        dir,
        "ema.safetensors",
        meta.files,
        stateBytes(1, "the EMA weights"),
      );
      copyInto(ema.shadow, decodeSafetensors(buf, file).tensors.get("ema"), "tensor ema", file);
    },
  };
}
