/**
 * Output files checked before a command does its work: a path whose directory is missing or is
 * a file fails at once (KEEL_E_FILE naming it), not after minutes of work, and a command that
 * writes several files checks them all before it writes any, so a bad second path leaves no
 * first file behind. The writers (src/io/files.ts) do not create directories.
 */
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { KeelError } from "../../core/errors.js";
import { fileInTheWay } from "../../engine/checkpoint/atomic.js";

function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined; // not there
  }
}

/** Throws KEEL_E_FILE unless each given path (`-` is stdout) can be written as a file. */
export function checkOutputFiles(...paths: (string | undefined)[]): void {
  for (const path of paths) {
    if (path === undefined || path === "-") continue;
    const fail = (why: string) =>
      new KeelError("KEEL_E_FILE", `cannot write: ${why}`, {
        where: { file: path },
        hint: "choose an output path in an existing directory",
      });
    if (isDirectory(path)) throw fail("is a directory");
    const dir = dirname(path);
    const isDir = isDirectory(dir);
    if (isDir === false) throw fail(`${dir} is a file, not a directory`);
    if (isDir === undefined) {
      const file = fileInTheWay(dir);
      throw fail(file ? `${file} is a file, not a directory` : `no such directory ${dir}`);
    }
  }
}
