import { describe, expect, it } from "vitest";
import {
  asCatalogueError,
  ERROR_CATALOGUE,
  formatWhere,
  KeelError,
  keelErrorData,
  reviveKeelError,
} from "../../src/core/errors.js";
import { startModuleWorker } from "../../src/core/worker.js";

describe("the error catalogue", () => {
  it("gives every code a sysexits-style exit code and an HTTP error status", () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect([3, 130].includes(spec.exit) || (spec.exit >= 64 && spec.exit <= 78), code).toBe(true);
      expect(spec.http >= 400 && spec.http <= 599, code).toBe(true);
      expect(spec.title.length, code).toBeGreaterThan(0);
    }
  });
});

describe("formatWhere", () => {
  it("names the line of an input without a file, and the id of the offending object", () => {
    expect(formatWhere({ line: 3, field: "choice" })).toBe("line 3: choice");
    expect(formatWhere({ file: "j.jsonl", line: 3, id: "r1", field: "choice" })).toBe(
      'j.jsonl:3: id "r1": choice',
    );
    expect(
      new KeelError("KEEL_E_NOT_FOUND", "no such rater", { where: { id: "r9" } }).message,
    ).toBe('id "r9": no such rater');
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

describe("asCatalogueError", () => {
  it("revives a KeelError thrown uncaught in a worker thread, with its code, place and hint", async () => {
    const worker = startModuleWorker(import.meta.url, "fixtures/throws-keel-error");
    const arrived = await new Promise<unknown>((resolve) => worker.once("error", resolve));
    await worker.terminate();
    // What the `error` event gives: a plain Error carrying the KeelError's fields.
    expect(arrived).toBeInstanceOf(Error);
    expect(arrived).not.toBeInstanceOf(KeelError);
    const e = asCatalogueError(arrived);
    expect(e).toBeInstanceOf(KeelError);
    expect(e?.code).toBe("KEEL_E_STORE");
    expect(e?.exitCode).toBe(74);
    expect(e?.httpStatus).toBe(503);
    expect(e?.message).toBe("/srv/keel/k.db: no keel store here");
    expect(e?.detail).toBe("no keel store here");
    expect(e?.where).toEqual({ file: "/srv/keel/k.db" });
    expect(e?.hint).toBe("create one with `keel init`");
  });

  it("leaves unexpected errors, and codes the catalogue does not have, to be internal", () => {
    expect(asCatalogueError(new TypeError("x is undefined"))).toBeUndefined();
    const odd = Object.assign(new Error("m"), { name: "KeelError", code: "KEEL_E_NOPE" });
    expect(asCatalogueError(odd)).toBeUndefined();
    expect(
      asCatalogueError(Object.assign(new Error("ENOENT"), { code: "ENOENT" })),
    ).toBeUndefined();
    const k = new KeelError("KEEL_E_FILE", "gone");
    expect(asCatalogueError(k)).toBe(k);
    // Only an error that says it is a KeelError is revived: a code alone is not enough.
    const coded = Object.assign(new Error("m"), { code: "KEEL_E_FILE" });
    expect(asCatalogueError(coded)).toBeUndefined();
    expect(
      asCatalogueError({ name: "KeelError", code: "KEEL_E_FILE", message: "m" }),
    ).toBeUndefined();
  });

  it("keeps the worker's error as the cause, and drops a where or hint of the wrong type", () => {
    const arrived = Object.assign(new Error("gone"), {
      name: "KeelError",
      code: "KEEL_E_FILE",
      where: "x.jsonl",
      hint: 5,
    });
    const e = asCatalogueError(arrived);
    expect(e?.cause).toBe(arrived);
    expect(e?.where).toBeUndefined();
    expect(e?.hint).toBeUndefined();
    expect(e?.message).toBe("gone");
  });
});
