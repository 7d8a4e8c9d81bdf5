/**
 * Reading whole small files with errors a user can act on: an unreadable file is KEEL_E_FILE
 * naming it and the reason in words, a file that is not JSON is KEEL_E_INVALID_RECORD. Here in
 * core so that every layer (io, train, cli) reads its inputs the same way.
 */
import { readFileSync } from "node:fs";
import { KeelError } from "./errors.js";

/** A whole (small) text file; an unreadable one is KEEL_E_FILE naming it. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, {
      where: { file: path },
    });
  }
}

/** A whole JSON file; unreadable is KEEL_E_FILE, not JSON is KEEL_E_INVALID_RECORD. */
export function readJsonTextFile(path: string): unknown {
  const text = readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KeelError("KEEL_E_INVALID_RECORD", `not valid JSON: ${(e as Error).message}`, {
      where: { file: path },
    });
  }
}

/** A file-system error in words a user understands. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "EEXIST":
      return "already exists";
    case "ENOSPC":
      return "no space left on device";
    case "EDQUOT":
      return "disk quota exceeded";
    case "EROFS":
      return "read-only file system";
    case "EMFILE":
      return "too many open files in this process (ulimit -n)";
    case "ENFILE":
      return "too many open files on this system";
    case "ENAMETOOLONG":
      return "file name too long";
    case "ENOTDIR":
      return "a part of the path is a file, not a directory";
    case "ELOOP":
      return "too many symbolic links (a loop?)";
    case "ERR_STRING_TOO_LONG":
      return "too large to read as one text (this reader takes up to 512 MiB)";
    default:
      return code ?? (e instanceof Error ? e.message : String(e));
  }
}
