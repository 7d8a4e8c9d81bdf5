/** How CLI commands talk to the user: results on stdout, progress and errors on stderr. */
import { ERROR_CATALOGUE, isKeelError } from "../core/errors.js";
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

/** Prints an error the way a user should see it and returns the process exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (isKeelError(e)) {
    if (json) process.stderr.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
    else {
      // Messages quote ids, file contents and upstream answers: escaped, continuations indented.
      process.stderr.write(`keel: error ${e.code}: ${reportLine(e.message)}\n`);
      if (e.hint) process.stderr.write(`keel: hint: ${reportLine(e.hint)}\n`);
    }
    return e.exitCode;
  }
  // The stack's message may quote input (JSON.parse's does): escaped like keel's own.
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) {
    const error = { code: "KEEL_E_INTERNAL", message };
    process.stderr.write(`${JSON.stringify({ error })}\n`);
  } else process.stderr.write(`keel: internal error (KEEL_E_INTERNAL): ${reportLine(message)}\n`);
  return ERROR_CATALOGUE.KEEL_E_INTERNAL.exit;
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
  const widths = header.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i] ?? ""))));
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
