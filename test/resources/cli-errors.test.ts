/**
 * A system error about the machine's resources that reaches the CLI unwrapped (a full disk, a
 * read-only mount, no file descriptors left) is reported as KEEL_E_FILE naming the path and
 * what ran out, with exit 66 — not as a bug in keel that asks for a report.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { reportError } from "../../src/cli/output.js";

let printed = "";
beforeEach(() => {
  printed = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

function systemError(code: string, syscall: string, path?: string): Error {
  const e = new Error(`${code}: ${syscall}${path ? ` '${path}'` : ""}`);
  return Object.assign(e, { code, errno: -1, syscall, ...(path ? { path } : {}) });
}

describe("system errors that reach the CLI", () => {
  it("a full disk is KEEL_E_FILE, exit 66, in words, without the bug-report hint", () => {
    expect(reportError(systemError("ENOSPC", "write"), false)).toBe(66);
    expect(printed).toContain("KEEL_E_FILE");
    expect(printed).toContain("no space left on device");
    expect(printed).not.toContain("this is a bug in keel");
  });

  it("running out of descriptors names the file and says how to raise the limit", () => {
    expect(reportError(systemError("EMFILE", "open", "/data/x.jsonl"), true)).toBe(66);
    const { error } = JSON.parse(printed) as {
      error: { code: string; message: string; hint: string };
    };
    expect(error.code).toBe("KEEL_E_FILE");
    expect(error.message).toContain("/data/x.jsonl");
    expect(error.hint).toContain("ulimit -n");
  });

  it("a read-only mount names the path", () => {
    expect(reportError(systemError("EROFS", "open", "/mnt/ro/out.json"), false)).toBe(66);
    expect(printed).toContain("/mnt/ro/out.json");
  });

  it("a permission error that is not about a file stays what it was", () => {
    expect(reportError(systemError("EACCES", "listen"), false)).toBe(70);
  });
});
