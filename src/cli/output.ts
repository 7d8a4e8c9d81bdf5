/** How CLI commands talk to the user: results on stdout, progress and errors on stderr. */
import { asCatalogueError, ERROR_CATALOGUE, KeelError } from "../core/errors.js";
import { describeFsError } from "../core/files.js";
import { reportLine } from "../core/printable.js";
import { displayWidth, padTo } from "./width.js";

export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Where a command prints its summary: standard output, or standard error when `out` is "-" and
 * standard output carries the command's data (for a pipe).
 */
export function summaryPrinter(out: string | undefined): (line?: string) => void {
  return out === "-" ? (line = "") => process.stderr.write(`${line}\n`) : printLine;
}

export function warn(line: string): void {
  process.stderr.write(`keel: ${line}\n`);
}

/** Whether the user asked for stack traces and causes with errors: KEEL_DEBUG set, not to 0. */
export function debugging(): boolean {
  const v = process.env.KEEL_DEBUG;
  return v !== undefined && v !== "" && v !== "0";
}

/** The hint of every internal error: it is keel's fault, and what a bug report needs. */
export const REPORT_BUG =
  "this is a bug in keel: please report it with the command you ran and what it printed " +
  "with KEEL_DEBUG=1 set (which adds the stack trace)";

/** An error's text without its stack frames (the `    at …` lines a stack trace adds). */
function withoutFrames(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^\s+at\s/.test(l))
    .join("\n")
    .trimEnd();
}

/** A cause that is not an Error (an upstream's answer: status, code, message) as JSON. */
function described(c: unknown): string {
  if (typeof c !== "object" || c === null) return String(c);
  try {
    return JSON.stringify(c);
  } catch {
    return String(c);
  }
}

/** What caused `e`, outermost first, as a stack trace each (for KEEL_DEBUG). */
function causes(e: unknown): string[] {
  const out: string[] = [];
  let c = e instanceof Error ? e.cause : undefined;
  for (let depth = 0; c !== undefined && depth < 8; depth++) {
    out.push(c instanceof Error ? (c.stack ?? `${c.name}: ${c.message}`) : described(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  return out;
}

/**
 * The machine running out of something — disk space or quota, write permission, a read-only
 * mount, file descriptors, memory for a file operation — that reached the CLI as the system's
 * own error (`code`, `syscall`, `path`) rather than keel's: KEEL_E_FILE naming the path, not an
 * internal error that asks for a bug report, since the remedy is the user's.
 */
const RESOURCE_ERRORS = new Set([
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "EACCES",
  "EPERM",
  "EMFILE",
  "ENFILE",
  "ENOMEM",
]);
const RESOURCE_HINTS: Record<string, string> = {
  EMFILE: "the process ran out of file descriptors: raise the limit (ulimit -n) and try again",
  ENFILE: "the system ran out of file descriptors: close other programs or raise the limit",
  ENOMEM: "the system ran out of memory: close other programs and try again",
};

function resourceError(e: unknown): KeelError | undefined {
  if (!(e instanceof Error)) return undefined;
  const { code, syscall, path } = e as NodeJS.ErrnoException;
  if (typeof code !== "string" || !RESOURCE_ERRORS.has(code) || typeof syscall !== "string")
    return undefined;
  // Permission errors of other calls (listening on a port, signalling a process) are not files'.
  if ((code === "EACCES" || code === "EPERM") && typeof path !== "string") return undefined;
  const hint =
    RESOURCE_HINTS[code] ?? "free space or fix the permissions there, then run the command again";
  return new KeelError("KEEL_E_FILE", `cannot ${syscall}: ${describeFsError(e)}`, {
    ...(typeof path === "string" ? { where: { file: path } } : {}),
    hint,
    cause: e,
  });
}

/**
 * Prints an error the way a user should see it and returns the process exit code. An
 * unexpected failure (a TypeError deep inside) is KEEL_E_INTERNAL: its message and a request
 * for a bug report, and, only with KEEL_DEBUG=1, its stack trace and causes.
 */
export function reportError(e: unknown, json: boolean): number {
  const debug = debugging();
  const known = asCatalogueError(e) ?? resourceError(e);
  const internal = known === undefined || known.code === "KEEL_E_INTERNAL";
  // A worker thread's unexpected failure arrives as KEEL_E_INTERNAL whose message is its stack.
  const full =
    known?.message ?? (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : described(e));
  const message = internal && !debug ? withoutFrames(full) : full;
  const hint = known?.hint ?? (internal ? REPORT_BUG : undefined);
  if (json) {
    const error = known
      ? { ...known.toJSON(), message, ...(hint ? { hint } : {}) }
      : { code: "KEEL_E_INTERNAL", message, hint };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else {
    // Messages quote ids, file contents and upstream answers: escaped, continuations indented.
    if (known) process.stderr.write(`keel: error ${known.code}: ${reportLine(message)}\n`);
    else process.stderr.write(`keel: internal error (KEEL_E_INTERNAL): ${reportLine(message)}\n`);
    if (hint) process.stderr.write(`keel: hint: ${reportLine(hint)}\n`);
    if (debug) {
      if (known?.stack) process.stderr.write(`keel: debug: ${reportLine(known.stack)}\n`);
      for (const c of causes(known ?? e))
        process.stderr.write(`keel: caused by: ${reportLine(c)}\n`);
    }
  }
  return known?.exitCode ?? ERROR_CATALOGUE.KEEL_E_INTERNAL.exit;
}

/** "1 rater", "3 raters": a count and its noun (`plural` when it is not the noun + "s"). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** `text` cut to at most `max` terminal columns, with an ellipsis when it was cut. */
export { clipTo as clip } from "./width.js";

/** A table cell that is a number: 12, -0.5, 1,234, 3.2e-5, 97.5%, 1.38×, 24 ms, n/a, –. */
const NUMBER = /^(?:[-+−]?(?:\d[\d,]*)?\.?\d+(?:e[-+]?\d+)?\s*(?:%|×|x|s|ms|MB|GB)?|n\/a|–|-)$/i;

/** Formats a table of rows with aligned columns, for human-readable output. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly unknown[])[],
): string {
  const cells = [
    header,
    ...rows.map((r) => r.map((c) => (c === undefined || c === null ? "" : String(c)))),
  ];
  // In terminal columns: a CJK prompt or an emoji in a rater id takes two a character.
  // A loop, not Math.max(...cells): spread arguments overflow the stack past ~100,000 rows.
  const widths = header.map((_, i) => {
    let w = 0;
    for (const r of cells) w = Math.max(w, displayWidth(r[i] ?? ""));
    return w;
  });
  // Numbers line up on the right; words (names, verdicts, reasons) read from the left.
  const numeric = header.map(
    (_, i) => i > 0 && cells.slice(1).every((r) => (r[i] ?? "") === "" || NUMBER.test(r[i]!)),
  );
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => padTo(c, widths[i]!, numeric[i] ? "start" : "end"))
      .join("  ")
      .trimEnd();
  return [
    fmt(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map((r) => fmt(r as string[])),
  ].join("\n");
}
