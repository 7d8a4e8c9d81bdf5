/**
 * A checkpoint's config.json: its schema, the format and version this keel writes and reads,
 * and reading it with a refusal that says what is wrong (another kind of model's config.json, a
 * newer keel's format) before the schema would name a field.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { infiniteNumberAt } from "../../core/json-numbers.js";
import { protoKeyHolder } from "../../core/proto-key.js";
import { GptConfigSchema } from "../gpt/config.js";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 in hex");

/** config.json's `format`, and the `version` of it this keel writes and reads. */
export const CHECKPOINT_FORMAT = "keel-gpt";
export const CHECKPOINT_VERSION = 1;

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

export type ConfigFile = z.output<typeof ConfigFileSchema>;

/** Every file a checkpoint directory may hold. */
export const CHECKPOINT_FILES: readonly string[] = [
  "config.json",
  ...Object.keys(ConfigFileSchema.shape.files.shape),
];

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

export function parseConfigFile(cfgPath: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(cfgPath, "utf8");
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read config.json: ${describeFsError(e)}`, {
      where: { file: cfgPath },
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", "config.json is not JSON", {
      where: { file: cfgPath },
      cause: e,
    });
  }
  // The schema rebuilds `extra` by assignment, which would drop the key unseen.
  const holder = protoKeyHolder(raw);
  if (holder !== undefined)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      'config.json: the key "__proto__" is not allowed (JavaScript reserves it); rename or remove it',
      { where: { file: cfgPath, field: holder === "" ? "__proto__" : `${holder}.__proto__` } },
    );
  checkFormat(raw, cfgPath);
  // JSON has no infinite numbers, but JSON.parse reads 1e999 as Infinity; the schema refuses it
  // in the model's config, while `extra` would carry it to the trainers (in a normalised reward
  // ensemble, a member's reward_std of Infinity scored every response 0).
  const infinite = infiniteNumberAt(raw);
  if (infinite !== undefined)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `config.json: ${infinite} is a number beyond the range of a double, which reads as Infinity; keel never writes one`,
      {
        where: { file: cfgPath, field: infinite },
        hint: "the file was edited; restore it from a complete save",
      },
    );
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeelError("KEEL_E_CHECKPOINT", `config.json: ${issue.message}`, {
      where: { file: cfgPath, field: issue.path.join(".") },
    });
  }
  return parsed.data;
}
