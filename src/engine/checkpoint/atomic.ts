/**
 * Atomic file writes: the bytes go to a temporary file in the same directory, are flushed to
 * disk (fsync), and the file is renamed over the target, so a reader sees the old file or the
 * new one, never a torn mix. The directory is fsynced afterwards (best effort) so the rename
 * itself survives a crash.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { KeelError } from "../../core/errors.js";

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
    mkdirSync(dir, { recursive: true });
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
    rmSync(tmp, { force: true });
    throw new KeelError("KEEL_E_FILE", `cannot write ${path}: ${(e as Error).message}`, {
      where: { file: path },
      cause: e,
    });
  }
  try {
    const dfd = openSync(dir, "r");
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // some filesystems do not allow fsync on directories; the rename is still atomic
  }
}
