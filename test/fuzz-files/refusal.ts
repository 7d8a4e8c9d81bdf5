/**
 * What every reader of a user's file must do with a mutated one: accept it, or refuse it with a
 * catalogue error (never KEEL_E_INTERNAL, never a bare TypeError, RangeError or SyntaxError)
 * whose message names the file — and, for one record, the line.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { asCatalogueError, type KeelError } from "../../src/core/errors.js";

/** The thrown value as a catalogue error, failing the test (with the case's label) otherwise. */
export function expectRefusal(e: unknown, label: string, file?: string): KeelError {
  const k = asCatalogueError(e);
  if (k === undefined) {
    const shown = e instanceof Error ? (e.stack ?? e.message) : String(e);
    expect.fail(`${label}: not a catalogue error: ${shown}`);
  }
  expect(k.code, `${label}: ${k.message}`).not.toBe("KEEL_E_INTERNAL");
  if (file !== undefined) expect(k.message, label).toContain(file);
  return k;
}

/** A record's refusal: a catalogue error whose message starts `file:line`. */
export function expectRecordRefusal(e: unknown, label: string, file: string, line: number): void {
  const k = expectRefusal(e, label, file);
  expect(k.message.startsWith(`${file}:${line}`), `${label}: ${k.message}`).toBe(true);
}

/** Writes the case to `dir` and returns its path; the name keeps the extension readers go by. */
export function caseFile(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** How many cases a fuzz test runs per input kind (KEEL_FUZZ_CASES raises it to explore). */
export const CASES = Number(process.env.KEEL_FUZZ_CASES ?? 120);
/** The first seed (KEEL_FUZZ_SEED moves it to explore other cases). */
export const SEED = Number(process.env.KEEL_FUZZ_SEED ?? 20_261_207);
