/** File errors in words: what a user sees when keel cannot read an input. */
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
});
