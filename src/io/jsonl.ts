/**
 * JSON Lines in and out. Readers yield `Parsed<T>` batches: each non-empty line either parsed
 * and validated, or rejected with `file:line: field: what is wrong`. Whether a rejection stops
 * the import or is set aside is the caller's choice (see `strictRecords`).
 */
import type { z } from "zod";
import { KeelError, type Where } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
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
    const { field, message } = zodIssueMessage(r.error, { input: value, schema });
    throw new KeelError("KEEL_E_INVALID_RECORD", message, { where: { ...where, field } });
  };
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
