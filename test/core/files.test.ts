/** File errors in words: what a user sees when keel cannot read an input. */

import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeFsError, textLines } from "../../src/core/files.js";

describe("describeFsError", () => {
  it("says what went wrong in words, a file past V8's string limit included", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(describeFsError(err("ENOENT"))).toBe("no such file or directory");
    expect(describeFsError(err("EISDIR"))).toBe("is a directory");
    // readFileSync(path, "utf8") of a file over 512 MiB: the code alone said nothing useful.
    expect(describeFsError(err("ERR_STRING_TOO_LONG"))).toMatch(/too large .*512 MiB/);
    expect(describeFsError(err("EXDEV"))).toBe("EXDEV");
  });

  it("names the resource a write ran out of, and the path faults the system reports", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    // These read "cannot write: EROFS" before.
    expect(describeFsError(err("EROFS"))).toBe("read-only file system");
    expect(describeFsError(err("EDQUOT"))).toBe("disk quota exceeded");
    expect(describeFsError(err("EFBIG"))).toMatch(/file too large .*ulimit -f/);
    expect(describeFsError(err("EMFILE"))).toMatch(/too many open files .*ulimit -n/);
    expect(describeFsError(err("ENFILE"))).toMatch(/too many open files on this system/);
    const real = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return describeFsError(e);
      }
      return "no error";
    };
    expect(real(() => openSync(join(tmpdir(), "n".repeat(300)), "r"))).toBe("file name too long");
    const file = join(mkdtempSync(join(tmpdir(), "keel-fserr-")), "f");
    writeFileSync(file, "x");
    expect(real(() => openSync(join(file, "below"), "r"))).toMatch(/is a file, not a directory/);
  });
});

describe("textLines", () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-lines-"));
  const split = (text: string) => (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");

  it("gives the lines String.split gives, whatever the chunk size cuts (UTF-8 across chunks)", () => {
    const piece = fc.constantFrom("a", "\n", "\r\n", "é", "€", "𝄞", "\uFEFF", " ", "{}", "\n\n");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        (pieces, bom, chunk) => {
          const text = (bom ? "\uFEFF" : "") + pieces.join("");
          const path = join(dir, "p.txt");
          writeFileSync(path, text);
          expect([...textLines(path, chunk)]).toEqual(split(text));
        },
      ),
      { seed: 20261207, numRuns: 300 },
    );
  });

  it("refuses a line that is not UTF-8 at its line and byte, and names an unreadable file", () => {
    // Before, the bad bytes became U+FFFD, as readFileSync(path, "utf8") makes them: a training
    // set trained on text its file does not hold.
    const path = join(dir, "bad.txt");
    writeFileSync(path, Buffer.from([0x61, 0x0a, 0x62, 0x63, 0xff, 0x0a, 0x64]));
    for (const chunk of [1, 2, 3, 64]) {
      const got: string[] = [];
      expect(() => {
        for (const l of textLines(path, chunk)) got.push(l);
      }).toThrow(
        expect.objectContaining({
          code: "KEEL_E_INVALID_RECORD",
          where: { file: path, line: 2 },
          detail: "invalid UTF-8 at byte offset 2 of the line (byte 0xff)",
        }),
      );
      expect(got).toEqual(["a"]);
    }
    // A character cut off by the end of the file.
    writeFileSync(path, Buffer.from([0x61, 0x0a, 0xe2, 0x82]));
    expect(() => [...textLines(path, 3)]).toThrow(
      expect.objectContaining({ where: { file: path, line: 2 } }),
    );
    expect(() => [...textLines(join(dir, "missing"))]).toThrow(
      expect.objectContaining({
        code: "KEEL_E_FILE",
        detail: "cannot read: no such file or directory",
      }),
    );
    expect(() => [...textLines(dir)]).toThrow(
      expect.objectContaining({ code: "KEEL_E_FILE", detail: "cannot read: is a directory" }),
    );
  });

  it("closes the file when the reader stops early", () => {
    const path = join(dir, "many.txt");
    writeFileSync(path, "x\n".repeat(1000));
    for (let k = 0; k < 3000; k++) for (const _ of textLines(path, 4)) break;
    // 3,000 leaked descriptors would be past this process's limit soon; one more open works.
    expect(typeof openSync(path, "r")).toBe("number");
  });
});
