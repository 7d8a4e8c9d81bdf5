/**
 * JSON Lines in and out. Readers yield `Parsed<T>` batches: each non-empty line either parsed
 * and validated, or rejected with `file:line: field: what is wrong`. Whether a rejection stops
 * the import or is set aside is the caller's choice (see `strictRecords`).
 */
import { ZodError, type z } from "zod";
import { KeelError, type Where } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
import { headUnits } from "../core/printable.js";
import { protoKeyHolder } from "../core/proto-key.js";
import type { Parsed } from "../core/types.js";
import { TextSink } from "./files.js";
import { readLineBatches } from "./lines.js";
import type { ProtectedFile } from "./output-target.js";

/** Parses each non-empty line as JSON and maps it through `convert` (which may throw). */
export async function* parseJsonlBatches<T>(
  path: string,
  convert: (value: unknown, where: Where) => T,
): AsyncGenerator<Parsed<T>[]> {
  for await (const { firstLine, lines, bad } of readLineBatches(path, { invalid: "report" })) {
    const out: Parsed<T>[] = [];
    const badAt = bad ? new Map(bad.map((b) => [b.index, b.error])) : undefined;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const line = firstLine + i;
      const unreadable = badAt?.get(i);
      if (unreadable) {
        out.push({ ok: false, line, raw, error: unreadable });
        continue;
      }
      if (raw.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        out.push({
          ok: false,
          line,
          raw,
          error: new KeelError("KEEL_E_INVALID_RECORD", `invalid JSON: ${detail}`, {
            where: { file: path, line },
          }),
        });
        continue;
      }
      try {
        // JSON spells the key `\u005f_proto__` as well; other lines cannot hold it.
        if (raw.includes("__proto__") || raw.includes("\\u")) refuseProtoKey(value, path, line);
        out.push({ ok: true, line, record: convert(value, { file: path, line }) });
      } catch (e) {
        if (!(e instanceof KeelError)) throw e;
        out.push({ ok: false, line, raw, error: e });
      }
    }
    if (out.length > 0) yield out;
  }
}

/** Throws if an object in `value` has the key `__proto__` (see core/proto-key.ts). */
function refuseProtoKey(value: unknown, file: string, line: number): void {
  const path = protoKeyHolder(value);
  if (path === undefined) return;
  throw new KeelError(
    "KEEL_E_INVALID_RECORD",
    'the key "__proto__" is not allowed (JavaScript reserves it); rename or remove it',
    { where: { file, line, field: path === "" ? "(record)" : path } },
  );
}

/** A converter that validates with a zod schema and reports the first issue with its place. */
export function validateWith<T>(schema: z.ZodType<T>): (value: unknown, where: Where) => T {
  return (value, where) => {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issues = r.error.issues.map(boundUnknownKeys);
    const { field, message, issue } = zodIssueMessage(new ZodError(issues), {
      input: value,
      schema,
    });
    const unlisted = issue === undefined ? 0 : (unlistedKeys.get(issue) ?? 0);
    const more = unlisted > 0 ? `; ${unlisted} more unknown fields not listed` : "";
    throw new KeelError("KEEL_E_INVALID_RECORD", `${message}${more}`, {
      where: { ...where, field },
    });
  };
}

/** Unknown fields named in a message, and the characters shown of each. */
export const MAX_LISTED_KEYS = 8;
const MAX_KEY_CHARS = 64;
const KEY_HEAD_CHARS = 40;

/** How many unknown fields a cut-short issue no longer names. */
const unlistedKeys = new WeakMap<z.core.$ZodIssue, number>();

type Issue = z.core.$ZodIssue;

/**
 * The issue with its lists of unknown fields cut short, its union alternatives' too. A line of
 * the 32 MB a reader accepts may hold a million fields, or one field name of 20 MB: listed
 * whole, the message ran to the line's size (and again in the rejects file), and the near-miss
 * hint's edit distance over a 20 MB name took 11 minutes and 3.9 GB (in the parse worker, a
 * fatal out-of-memory that ended the process). A long name is shown by its start and its
 * length; no known field is near a name of more than MAX_KEY_CHARS characters.
 */
function boundUnknownKeys(issue: Issue): Issue {
  if (issue.code === "invalid_union")
    return { ...issue, errors: issue.errors.map((list) => list.map(boundUnknownKeys)) } as Issue;
  if (issue.code !== "unrecognized_keys") return issue;
  const long = issue.keys.some((k) => k.length > MAX_KEY_CHARS);
  if (issue.keys.length <= MAX_LISTED_KEYS && !long) return issue;
  const bounded = { ...issue, keys: issue.keys.slice(0, MAX_LISTED_KEYS).map(shortKey) };
  unlistedKeys.set(bounded, Math.max(0, issue.keys.length - MAX_LISTED_KEYS));
  return bounded;
}

/** A field name as a message shows it: whole, or its start and its length. */
function shortKey(key: string): string {
  if (key.length <= MAX_KEY_CHARS) return key;
  return `${headUnits(key, KEY_HEAD_CHARS)}… (${key.length} characters)`;
}

/** Flattens batches into single records, throwing the first rejection. */
export async function* strictRecords<T>(
  batches: AsyncIterable<Parsed<T>[]>,
): AsyncGenerator<{ record: T; line: number }> {
  for await (const batch of batches) {
    for (const p of batch) {
      if (!p.ok) throw p.error;
      yield { record: p.record, line: p.line };
    }
  }
}

/** Writes one JSON object per line, atomically (see TextSink). */
export class JsonlWriter {
  private readonly sink: TextSink;
  count = 0;

  constructor(path: string, opts: { readonly protect?: readonly ProtectedFile[] } = {}) {
    this.sink = new TextSink(path, opts);
  }

  /** The temporary file being written, if any (see TextSink). */
  get tempPath(): string | undefined {
    return this.sink.tempPath;
  }

  async write(value: unknown): Promise<void> {
    this.count++;
    await this.sink.write(`${JSON.stringify(value)}\n`);
  }

  get bytes(): number {
    return this.sink.bytes;
  }

  commit(): Promise<void> {
    return this.sink.commit();
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }
}

/** Writes whole rows as a JSONL file, atomically: on a failure nothing is left at `path`. */
export async function writeJsonlFile(
  path: string,
  rows: Iterable<unknown>,
  opts: { readonly protect?: readonly ProtectedFile[] } = {},
): Promise<void> {
  const out = new JsonlWriter(path, opts);
  try {
    for (const r of rows) await out.write(r);
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
