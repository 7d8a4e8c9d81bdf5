/**
 * Writing a large JSON value to a file without building it as one string: the same bytes as
 * `JSON.stringify(value, null, indent)` followed by a newline, written piece by piece through a
 * `TextSink` (atomic, bounded memory). A result with millions of entries (an aggregation's
 * per-task probabilities, an audit's comparisons) would otherwise pass V8's string limit
 * (~512 MiB) and fail after all the work was done.
 */

import { TextSink } from "./files.js";
import type { ProtectedFile } from "./output-target.js";

/** Containers with fewer entries than this are stringified whole (fast path). */
const WHOLE_BELOW = 256;

/** Writes `value` as JSON (with `indent` spaces, 0 for compact) and a final newline, atomically. */
export async function writeJsonFile(
  path: string,
  value: unknown,
  o: { readonly indent?: number; readonly protect?: readonly ProtectedFile[] } = {},
): Promise<void> {
  const sink = new TextSink(path, o.protect ? { protect: o.protect } : {});
  try {
    await writeJson(sink, value, o.indent ?? 0, "");
    await sink.write("\n");
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

/** Entries of a container as JSON.stringify sees them: undefined, functions and symbols dropped. */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

async function writeJson(
  sink: { write(text: string): Promise<void> },
  value: unknown,
  indent: number,
  at: string,
): Promise<void> {
  const v =
    value !== null &&
    typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
      ? (value as { toJSON(): unknown }).toJSON()
      : value;
  if (v === null || typeof v !== "object") {
    await sink.write(JSON.stringify(v) ?? "null");
    return;
  }
  const isArray = Array.isArray(v);
  const arr = v as unknown[];
  const obj = v as Record<string, unknown>;
  const keys = isArray ? undefined : Object.keys(obj).filter((k) => !omitted(obj[k]));
  const n = isArray ? arr.length : keys!.length;
  if (n < WHOLE_BELOW) {
    // JSON.stringify indents relative to its own start: shift its inner lines to `at`.
    const text = JSON.stringify(v, null, indent);
    await sink.write(indent > 0 && at !== "" ? text.replace(/\n/g, `\n${at}`) : text);
    return;
  }
  const inner = at + " ".repeat(indent);
  const nl = indent > 0 ? "\n" : "";
  const colon = indent > 0 ? ": " : ":";
  await sink.write(isArray ? "[" : "{");
  for (let i = 0; i < n; i++) {
    await sink.write(`${i === 0 ? "" : ","}${nl}${indent > 0 ? inner : ""}`);
    let x: unknown;
    if (isArray) x = arr[i];
    else {
      const k = keys![i]!;
      await sink.write(`${JSON.stringify(k)}${colon}`);
      x = obj[k];
    }
    if (omitted(x)) await sink.write("null");
    else await writeJson(sink, x, indent, inner);
  }
  await sink.write(`${nl}${indent > 0 ? at : ""}${isArray ? "]" : "}"}`);
}
