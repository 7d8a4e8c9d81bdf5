/**
 * Zod failures in plain words: `field: what is wrong` for keel's `file:line: field: what is
 * wrong`, used by every reader of outside input (imports, configs, server bodies, providers).
 */
import type { z } from "zod";
import { fieldsAt, nearestValueHint, unknownKeysHint, valueAt } from "./config-hints.js";
import { headUnits } from "./printable.js";

/** What the formatter may consult besides the error: the value checked, and its schema. */
export interface IssueContext {
  /** The value that failed (to say what was received, or that a field is missing). */
  readonly input?: unknown;
  /** The schema it failed (to list an object's fields, or suggest a near miss). */
  readonly schema?: z.ZodType;
}

/**
 * Turns a zod failure into `field: what is wrong` for `file:line: field: what is wrong`, in
 * plain words in place of zod's generic ones. Given the input, it also names the precise field:
 * inside a union, the alternative the value came closest to (`prompt.0.content: is required`,
 * not `prompt: Invalid input`); given the schema too, it puts a misspelt field before the field
 * it misses, and lists or suggests the known fields. Without the input it describes the first
 * issue at that issue's own path, which callers that place the message themselves rely on.
 * Runs only for a value that failed, so it may take its time.
 */
export function zodIssueMessage(
  error: z.ZodError,
  context: IssueContext = {},
): { field: string; message: string; path: PropertyKey[]; issue?: Issue } {
  const first = firstIssue(error.issues, context);
  if (!first) return { field: "", message: "invalid", path: [] };
  const { path, message, issue } = describeIssue(first, [], context);
  const field = path.map(String).join(".");
  return { field: field === "" ? "(record)" : field, message, path, issue };
}

type Issue = z.core.$ZodIssue;

/** zod's own wording starts so; a schema's custom message is kept as written. */
const isDefault = (message: string) => /^(Invalid|Too (small|big)|Unrecognized)\b/.test(message);

/** `issue` is the one described: inside a union, the closest alternative's. */
function describeIssue(
  issue: Issue,
  prefix: readonly PropertyKey[],
  ctx: IssueContext,
): { path: PropertyKey[]; message: string; issue: Issue } {
  const path = [...prefix, ...issue.path];
  if (!("input" in ctx)) return { path, message: issueText(issue, path, ctx), issue };
  if (issue.code === "invalid_union") {
    const branch = closestBranch(issue.errors);
    if (branch) return describeIssue(firstIssue(branch, ctx, path)!, path, ctx);
  }
  if (issue.code === "invalid_key") {
    const inner = issue.issues[0];
    const key = path.at(-1);
    if (inner && typeof key === "string") {
      const what = describeIssue(inner, [], {}).message;
      return { path: path.slice(0, -1), message: `key ${quote(key)} ${what}`, issue };
    }
  }
  return { path, message: issueText(issue, path, ctx), issue };
}

/**
 * The alternative of a union that the value came closest to: one that got past the type check
 * (a list whose item is wrong, rather than "not a string"), the one that got deepest if several.
 * Undefined when every alternative failed on the type alone.
 */
function closestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  for (const issues of branches) {
    const first = issues[0];
    if (!first || (first.code === "invalid_type" && first.path.length === 0)) continue;
    if (!best || first.path.length > best[0]!.path.length) best = issues;
  }
  return best;
}

/**
 * The issue to report: the first, except that an unknown field that is a near miss of a known
 * one comes before a missing field of the same object: it is most likely that field misspelt,
 * and "did you mean …?" says so where "is required" would puzzle.
 */
function firstIssue(
  issues: readonly Issue[],
  ctx: IssueContext,
  prefix: readonly PropertyKey[] = [],
): Issue | undefined {
  const first = issues[0];
  if (!ctx.schema || !("input" in ctx) || !first || first.path.length === 0) return first;
  const at = [...prefix, ...first.path] as (string | number)[];
  if (valueAt(ctx.input, at) !== undefined) return first;
  const parent = first.path.slice(0, -1);
  const typo = issues.find(
    (i) =>
      i.code === "unrecognized_keys" &&
      i.path.length === parent.length &&
      i.path.every((p, k) => p === parent[k]) &&
      unknownKeysHint(ctx.schema!, at.slice(0, -1), i.keys) !== undefined,
  );
  return typo ?? first;
}

function issueText(issue: Issue, path: readonly PropertyKey[], ctx: IssueContext): string {
  const known = "input" in ctx;
  const value = known ? valueAt(ctx.input, path as (string | number)[]) : undefined;
  const got = known ? `; got ${quote(value)}` : "";
  switch (issue.code) {
    case "unrecognized_keys": {
      const s = issue.keys.length > 1 ? "s" : "";
      const listed = issue.keys.slice(0, MAX_LISTED_KEYS).map((k) => JSON.stringify(shortKey(k)));
      const unknown = `unknown field${s} ${listed.join(", ")}`;
      const hinted = ctx.schema
        ? `${unknown} (${fieldsHint(ctx.schema, path, issue.keys)})`
        : unknown;
      const more = issue.keys.length - listed.length;
      return more > 0 ? `${hinted}; ${more} more unknown fields not listed` : hinted;
    }
    case "invalid_type":
      if (!isDefault(issue.message)) return issue.message;
      // zod's "expected int, received number" for 1.5, where a count or a seed was meant.
      if (
        issue.expected === "int" &&
        (known ? Number.isFinite(value) : /received number$/.test(issue.message))
      )
        return `must be a whole number${got}`;
      return typeText([issue], path, ctx) ?? issue.message;
    case "invalid_union": {
      // A discriminated union's tag field (`type: honnest`): zod lists the tags in its own words.
      if (
        "options" in issue &&
        issue.options &&
        issue.errors.length === 0 &&
        isDefault(issue.message)
      ) {
        const list = issue.options.map((v) => quote(v)).join(", ");
        if (known && value === undefined) return `is required (one of ${list})`;
        const hint = known ? nearestValueHint(value, issue.options) : undefined;
        return `must be one of ${list}${got}${hint ? ` (${hint})` : ""}`;
      }
      const accepted = isDefault(issue.message) ? undefined : issue.message;
      const branch = closestBranch(issue.errors);
      if (!branch) {
        // Every alternative failed on the type: say which would have done.
        const text = typeText(issue.errors.flat(), path, ctx) ?? issue.message;
        return accepted ? `${text} (accepted: ${accepted})` : text;
      }
      // Without the input the field stays the union's: name the closer place in the message.
      const inner = describeIssue(branch[0]!, path, ctx);
      const where = `at ${inner.path.map(String).join(".")}: ${inner.message}`;
      return accepted ? `expected ${accepted}; ${where}` : where;
    }
    case "invalid_value": {
      if (!isDefault(issue.message)) return issue.message;
      const list = issue.values.map((v) => quote(v)).join(", ");
      const one = issue.values.length === 1 ? list : `one of ${list}`;
      if (known && value === undefined) return `is required (${one})`;
      const hint = known ? nearestValueHint(value, issue.values) : undefined;
      return `must be ${one}${got}${hint ? ` (${hint})` : ""}`;
    }
    case "too_small":
    case "too_big":
      return isDefault(issue.message) ? boundText(issue, got) : issue.message;
    case "invalid_format":
      if (issue.format === "regex")
        return isDefault(issue.message) ? `must match the pattern ${issue.pattern}` : issue.message;
      return `${isDefault(issue.message) ? `must be a valid ${issue.format}` : issue.message}${got}`;
    default:
      return issue.message;
  }
}

/**
 * "is required" for a missing value, else "expected string or array, received number"; an
 * expected object names its fields when the schema is known. Undefined when an issue is not a
 * type mismatch, or zod's message does not say what it received.
 */
function typeText(
  issues: readonly Issue[],
  path: readonly PropertyKey[],
  ctx: IssueContext,
): string | undefined {
  if (issues.length === 0 || issues.some((i) => i.code !== "invalid_type")) return undefined;
  const received =
    "input" in ctx
      ? kindOf(valueAt(ctx.input, path as (string | number)[]))
      : /received (-?\w+)$/.exec(issues[0]!.message)?.[1];
  if (received === undefined) return undefined;
  if (received === "undefined") return "is required";
  const expected = [
    ...new Set(
      issues.map((i) => {
        const e = (i as { expected: string }).expected;
        if (e !== "object" && e !== "record") return e;
        const fields =
          ctx.schema && e === "object"
            ? fieldsAt(ctx.schema, path as (string | number)[])
            : undefined;
        return fields ? `an object {${fields.join(", ")}}` : "object";
      }),
    ),
  ];
  return `expected ${expected.join(" or ")}, received ${received}`;
}

function boundText(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, got: string): string {
  const small = issue.code === "too_small";
  const limit = small ? issue.minimum : issue.maximum;
  const n = Number(limit);
  switch (issue.origin) {
    case "string":
      if (small && n === 1) return "must not be empty";
      return `must be ${small ? "at least" : "at most"} ${limit} characters`;
    case "array":
    case "set":
      if (small && n === 1) return "must not be empty";
      return `must have ${small ? "at least" : "at most"} ${limit} items`;
    default: {
      const word = issue.inclusive === false ? (small ? "greater than" : "less than") : "";
      return `must be ${word || (small ? "at least" : "at most")} ${limit}${got}`;
    }
  }
}

/** The received value's kind, in zod's words ("array", "null", "Infinity", "number", …). */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v;
}

/** A value as it would appear in the file, cut short: messages quote it, not reproduce it. */
export function quote(v: unknown): string {
  if (v === undefined) return "nothing";
  // Not stringified: a list or object may be huge, or nested deeper than the stack.
  if (typeof v === "object" && v !== null) return `an ${kindOf(v)}`;
  if (typeof v !== "string") return String(v);
  const s = JSON.stringify(v);
  return s.length <= 42 ? s : `${s.slice(0, 41)}…"`;
}

/**
 * Unknown fields a message names, and the characters it shows of each. A line of the 32 MB an
 * import reader accepts may hold a million fields, or one name of 20 MB: listed whole, the
 * message ran to the line's size (and again in a rejects file). A long name is shown by its
 * start and its length.
 */
export const MAX_LISTED_KEYS = 8;
const MAX_KEY_CHARS = 64;
const KEY_HEAD_CHARS = 40;

function shortKey(key: string): string {
  return key.length <= MAX_KEY_CHARS
    ? key
    : `${headUnits(key, KEY_HEAD_CHARS)}… (${key.length} characters)`;
}

/** "did you mean …?" for a near miss, else the object's fields. */
function fieldsHint(schema: z.ZodType, path: readonly PropertyKey[], keys: readonly string[]) {
  const at = path as (string | number)[];
  const hint = unknownKeysHint(schema, at, keys);
  if (hint) return hint;
  const fields = fieldsAt(schema, at)?.filter((f) => !keys.includes(f));
  return fields ? `known fields: ${fields.join(", ")}` : "not a known field";
}
