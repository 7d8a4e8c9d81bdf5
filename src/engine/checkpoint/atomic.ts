/**
 * Atomic file writes: the bytes go to a temporary file in the same directory, are flushed to
 * disk (fsync), and the file is renamed over the target, so a reader sees the old file or the
 * new one, never a torn mix. The directory is fsynced afterwards (best effort) so the rename
 * itself survives a crash.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { syncDirectory } from "../../core/sync-dir.js";
import { removeStaleTemps } from "../../core/temp-names.js";

/**
 * The nearest of `path` and its ancestors that exists and is not a directory (a regular file
 * where a directory is needed), or undefined.
 */
export function fileInTheWay(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

/** Why a file-system call on `path` failed, in words (naming a file that stands in the way). */
function whyNot(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const file = code === "ENOTDIR" || code === "EEXIST" ? fileInTheWay(path) : undefined;
  return file !== undefined ? `${file} is a file, not a directory` : describeFsError(e);
}

/**
 * `mkdir -p`, failing with the real reason. Node's recursive mkdir reports any error it does
 * not expect (EROFS on a read-only mount, EDQUOT, ELOOP) as ENOENT, "no such file or
 * directory", which sends a user looking for a missing parent that is there: each missing level
 * is then created plainly, so that the error thrown is the one the system gave.
 */
export function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p) && dirname(p) !== p; p = dirname(p)) missing.push(p);
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

/** Creates directory `dir` (and its parents), or fails with KEEL_E_FILE naming it and why. */
export function ensureDir(dir: string): void {
  try {
    makeDirs(dir);
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot create the directory: ${whyNot(dir, e)}`, {
      where: { file: dir },
      hint: "choose an output path that is, or can become, a directory",
      cause: e,
    });
  }
}

export function writeFileAtomic(
  path: string,
  chunks: readonly Uint8Array[] | Uint8Array | string,
): void {
  const dir = dirname(path);
  const tmp = `${path}.tmp-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  const parts =
    typeof chunks === "string"
      ? [Buffer.from(chunks)]
      : chunks instanceof Uint8Array
        ? [chunks]
        : chunks;
  try {
    makeDirs(dir);
    removeStaleTemps(path);
    const fd = openSync(tmp, "w");
    try {
      for (const p of parts) {
        let off = 0;
        while (off < p.byteLength) off += writeSync(fd, p, off, p.byteLength - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the temporary file was never created (its directory cannot be): nothing to remove
    }
    throw new KeelError("KEEL_E_FILE", `cannot write: ${whyNot(path, e)}`, {
      where: { file: path },
      cause: e,
    });
  }
  syncDirectory(dir);
}
