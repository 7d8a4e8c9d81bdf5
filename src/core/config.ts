/**
 * Configuration parsing shared by every config file keel reads (pipeline, trainers, world,
 * audit): a zod schema, and a `ConfigSource` that knows the file and can map a field path to
 * its line, so a failure reads `pipeline.yaml:12: reward_model.train.epochs: …`.
 */
import type { z } from "zod";
import {
  fieldsAt,
  missingBlockHint,
  nearestValueHint,
  unknownKeysHint,
  valueAt,
} from "./config-hints.js";
import { KeelError } from "./errors.js";
import { zodIssueMessage } from "./issue-messages.js";

export interface ConfigSource {
  readonly file?: string;
  /** Line of a field path in the source file, when known (YAML node ranges). */
  readonly lineOf?: (path: readonly (string | number)[]) => number | undefined;
}

/** The source of a nested block: paths are prefixed with the block's own path. */
export function subSource(
  source: ConfigSource,
  prefix: readonly (string | number)[],
): ConfigSource {
  const lineOf = source.lineOf;
  return {
    ...(source.file !== undefined ? { file: source.file } : {}),
    ...(lineOf ? { lineOf: (p: readonly (string | number)[]) => lineOf([...prefix, ...p]) } : {}),
  };
}

/**
 * Runs a trainer's config parser on a nested block and names the field from the top of the
 * file (`reward_model.train.epochs` in a pipeline file, not `train.epochs`).
 */
export function parseNested<T>(
  prefix: readonly string[],
  source: ConfigSource,
  parse: (src: ConfigSource) => T,
): T {
  try {
    return parse(subSource(source, prefix));
  } catch (e) {
    if (e instanceof KeelError && e.code === "KEEL_E_CONFIG" && e.where?.field !== undefined) {
      const field = `${prefix.join(".")}.${e.where.field}`;
      throw new KeelError("KEEL_E_CONFIG", e.detail, {
        where: { ...e.where, field },
        ...(e.hint ? { hint: e.hint } : {}),
      });
    }
    throw e;
  }
}

/**
 * Parses `raw` with `schema` or throws KEEL_E_CONFIG naming the file, line and field (`prefix`
 * places a nested block; `what` ends the message, e.g. "reward-model config"). An unknown field
 * gets a hint when the schema shows what was meant, a missing block the fields it takes.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  source: ConfigSource = {},
  prefix: readonly (string | number)[] = [],
  what?: string,
): z.output<S> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const first = r.error.issues[0]!;
  // Inside a union, the field of the alternative the value came closest to (`skill.mean`, not
  // `skill`); elsewhere the issue as zod placed it.
  const union = first.code === "invalid_union";
  const described = union ? zodIssueMessage(r.error, { input: raw ?? {} }) : undefined;
  const message = (described ?? zodIssueMessage(r.error)).message;
  const issue = described?.issue ?? first;
  const at = (described?.path ?? issue.path).map((p) => (typeof p === "symbol" ? String(p) : p));
  let path = at;
  let hint: string | undefined;
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) {
    path = [...at, issue.keys[0]!];
    hint = unknownKeysHint(schema, at, issue.keys);
  } else if (issue.code === "invalid_value" && !union) {
    // (Inside a union the message itself already suggests the near miss.)
    hint = nearestValueHint(valueAt(raw, at), issue.values);
  } else if (issue.code === "invalid_type" && at.length > 0 && valueAt(raw, at) === undefined) {
    hint = missingBlockHint(schema, at);
  } else if (issue.code === "invalid_type" && at.length > 0 && valueAt(raw, at) === null) {
    hint = nullBlockHint(schema, at) ?? nullValueHint(at, issue.expected);
  } else if (issue.code === "invalid_type") {
    hint = yamlValueHint(valueAt(raw, at), issue.expected);
  } else if (issue.code === "too_big" || issue.code === "too_small") {
    const bound = Number(issue.code === "too_big" ? issue.maximum : issue.minimum);
    if (Math.abs(bound) === Number.MAX_SAFE_INTEGER) hint = unsafeIntegerHint(valueAt(raw, at));
  }
  const full = [...prefix, ...path];
  const line = source.lineOf?.(full);
  throw new KeelError("KEEL_E_CONFIG", what !== undefined ? `${message} (${what})` : message, {
    where: {
      ...(source.file !== undefined ? { file: source.file } : {}),
      ...(line !== undefined ? { line } : {}),
      field: full.length > 0 ? full.join(".") : "(config)",
    },
    ...(hint !== undefined ? { hint } : {}),
  });
}

/** `block:` with nothing under it (its fields commented out, say) is null in YAML. */
function nullBlockHint(schema: z.ZodType, at: readonly (string | number)[]): string | undefined {
  const fields = fieldsAt(schema, at);
  if (fields === undefined) return undefined;
  return `nothing is written under ${at.join(".")}, which YAML reads as null: give its fields (${fields.join(", ")}), or remove the line`;
}

/**
 * `seed: ~`, `seed: null` or `seed:` with nothing after it is null in YAML, not "use the
 * default": say so, where zod says only "expected number, received null".
 */
function nullValueHint(at: readonly (string | number)[], expected: string): string {
  const words: Record<string, string> = {
    int: "whole number",
    object: "mapping",
    record: "mapping",
    array: "list",
  };
  const what = words[expected] ?? expected;
  const last = at.at(-1);
  if (typeof last !== "string")
    return `YAML reads ~, null and an empty list item as null: write a ${what}, or remove the item`;
  return `YAML reads ~, null and a bare \`${last}:\` as null: write a ${what}, or leave the field out`;
}

/**
 * z.int()'s bound ±(2^53 − 1) is not a setting's range but where numbers stop holding every whole
 * number: 12345678901234567890 in the file is read as 12345678901234567168. Said so, or the
 * limit in the message looks arbitrary.
 */
function unsafeIntegerHint(value: unknown): string | undefined {
  if (typeof value !== "number" || !Number.isInteger(value) || Number.isSafeInteger(value))
    return undefined;
  const read = Math.abs(value) < 1e21 ? BigInt(value) : value;
  return `past 2^53 − 1 a number no longer holds every whole number: this one reads as ${read}`;
}

/** Words YAML 1.1 read as booleans; YAML 1.2, which keel reads, keeps them as text. */
const YAML11_BOOLEANS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

/**
 * For a string where a number or boolean was expected, what YAML made of the text: a quoted
 * number, `1_000` or `yes` (YAML 1.1 read them as 1000 and true; YAML 1.2 keeps them as text).
 */
function yamlValueHint(value: unknown, expected: string): string | undefined {
  if (typeof value !== "string") return undefined;
  if (expected === "boolean" && YAML11_BOOLEANS.test(value)) {
    return `YAML 1.2 reads ${value} as text: write true or false`;
  }
  if (expected !== "number" && expected !== "int") return undefined;
  const plain = value.trim().replace(/_/g, "");
  if (plain === "" || !Number.isFinite(Number(plain))) return undefined;
  if (plain !== value.trim()) return `YAML 1.2 reads ${value} as text: write ${plain}`;
  return `${JSON.stringify(value)} is text: write the number without quotes`;
}
