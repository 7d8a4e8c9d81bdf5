/** Making a rename durable: the directory that holds it is flushed to disk too. */
import { closeSync, fsyncSync, openSync } from "node:fs";

/**
 * Flushes a directory's entries (a rename into it) to disk. Best effort: some file systems
 * refuse fsync on a directory, and the rename is atomic without it.
 */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // not supported here: the rename stands, only its durability across a power cut is less sure
  }
  try {
    if (fd !== undefined) closeSync(fd);
  } catch {
    // nothing was written through it
  }
}
