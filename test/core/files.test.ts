/** File errors in words: what a user sees when keel cannot read an input. */

import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeFsError } from "../../src/core/files.js";

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
