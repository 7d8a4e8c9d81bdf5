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
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { GptConfigSchema } from "../gpt/config.js";
import { Gpt } from "../gpt/model.js";
import type { AdamW } from "../optim/adamw.js";
import type { Ema } from "../optim/ema.js";
import type { FloatArray } from "../params.js";
import { BpeTokenizer } from "../tokenizer/bpe.js";
import { writeFileAtomic } from "./atomic.js";
import { decodeSafetensors, encodeSafetensors, type StTensor } from "./safetensors.js";

const ConfigFileSchema = z.strictObject({
  format: z.literal("keel-gpt"),
  version: z.literal(1),
  config: GptConfigSchema,
  step: z.int().min(0),
  files: z.record(z.string(), z.string()),
  extra: z.record(z.string(), z.unknown()),
});

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
    format: "keel-gpt",
    version: 1,
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

function readVerified(dir: string, name: string, files: Record<string, string>): Buffer {
  const path = join(dir, name);
  if (!existsSync(path))
    throw new KeelError("KEEL_E_CHECKPOINT", `${name} is listed in config.json but missing`, {
      where: { file: path },
    });
  const buf = readFileSync(path);
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

function copyInto(dst: FloatArray, t: StTensor | undefined, what: string, file: string): void {
  if (
    !t ||
    t.data.length !== dst.length ||
    t.data instanceof Int32Array ||
    t.data instanceof BigInt64Array
  ) {
    throw new KeelError("KEEL_E_CHECKPOINT", `${what} is missing or has the wrong size`, {
      where: { file },
    });
  }
  dst.set(t.data);
}

/** Whether `dir` holds a checkpoint (its config.json; the weights are checked on load). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, "config.json"));
}

export function loadCheckpoint(dir: string, opts: { threads?: number } = {}): Checkpoint {
  const cfgPath = join(dir, "config.json");
  if (!hasCheckpoint(dir))
    throw new KeelError("KEEL_E_NOT_FOUND", `no checkpoint at ${dir} (config.json missing)`, {
      where: { file: cfgPath },
    });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", "config.json is not JSON", {
      where: { file: cfgPath },
      cause: e,
    });
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeelError("KEEL_E_CHECKPOINT", `config.json: ${issue.message}`, {
      where: { file: cfgPath, field: issue.path.join(".") },
    });
  }
  const meta = parsed.data;
  const model = new Gpt(meta.config, opts.threads === undefined ? {} : { threads: opts.threads });
  const weightsFile = join(dir, "model.safetensors");
  const weights = decodeSafetensors(
    readVerified(dir, "model.safetensors", meta.files),
    weightsFile,
  );
  for (const s of model.params.specs)
    copyInto(
      model.params.view(s.name),
      weights.tensors.get(s.name),
      `parameter ${s.name}`,
      weightsFile,
    );
  model.params.touch();
  const tokenizer = meta.files["tokenizer.json"]
    ? BpeTokenizer.fromJSON(
        JSON.parse(readVerified(dir, "tokenizer.json", meta.files).toString("utf8")),
        join(dir, "tokenizer.json"),
      )
    : undefined;
  return {
    model,
    step: meta.step,
    extra: meta.extra,
    tokenizer,
    hasOptimizer: "optimizer.safetensors" in meta.files,
    hasEma: "ema.safetensors" in meta.files,
    restoreOptimizer(opt) {
      const file = join(dir, "optimizer.safetensors");
      const st = decodeSafetensors(readVerified(dir, "optimizer.safetensors", meta.files), file);
      copyInto(opt.m, st.tensors.get("adamw.m"), "adamw.m", file);
      copyInto(opt.v, st.tensors.get("adamw.v"), "adamw.v", file);
      opt.t = Number(st.metadata.t ?? 0);
    },
    restoreEma(ema) {
      const file = join(dir, "ema.safetensors");
      const st = decodeSafetensors(readVerified(dir, "ema.safetensors", meta.files), file);
      copyInto(ema.shadow, st.tensors.get("ema"), "ema", file);
    },
  };
}
