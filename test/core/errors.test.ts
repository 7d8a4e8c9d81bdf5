import { describe, expect, it } from "vitest";
import {
  ERROR_CATALOGUE,
  KeelError,
  keelErrorData,
  reviveKeelError,
} from "../../src/core/errors.js";

describe("the error catalogue", () => {
  it("gives every code a sysexits-style exit code and an HTTP error status", () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect([3, 130].includes(spec.exit) || (spec.exit >= 64 && spec.exit <= 78), code).toBe(true);
      expect(spec.http >= 400 && spec.http <= 599, code).toBe(true);
      expect(spec.title.length, code).toBeGreaterThan(0);
    }
  });
});

describe("reviveKeelError", () => {
  it("gives back the message, location, hint and detail a worker's error had", () => {
    const e = new KeelError("KEEL_E_INVALID_RECORD", "choice: must be a", {
      where: { file: "j.jsonl", line: 12, field: "choice" },
      hint: "fix the line",
    });
    const r = reviveKeelError(JSON.parse(JSON.stringify(keelErrorData(e))));
    expect(r.message).toBe("j.jsonl:12: choice: choice: must be a");
    expect(r.message).toBe(e.message);
    expect(r.detail).toBe(e.detail);
    expect(r.where).toEqual(e.where);
    expect(r.hint).toBe("fix the line");
    expect(r.exitCode).toBe(65);
    // A new hint does not repeat the location.
    expect(r.withHint("another").message).toBe(e.message);
  });

  it("keeps a message that does not start with its location as it is", () => {
    const r = reviveKeelError({ code: "KEEL_E_FILE", message: "gone", where: { file: "x" } });
    expect(r.message).toBe("gone");
    expect(r.where).toEqual({ file: "x" });
    const plain = reviveKeelError({ code: "KEEL_E_FILE", message: "f:2: bad" });
    expect(plain.message).toBe("f:2: bad");
  });
});
