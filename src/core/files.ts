/**
 * Reading whole small files with errors a user can act on: an unreadable file is KEEL_E_FILE
 * naming it and the reason in words, a file that is not JSON is KEEL_E_INVALID_RECORD. Here in
 * core so that every layer (io, train, cli) reads its inputs the same way.
 */
import { isUtf8 } from "node:buffer";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { KeelError } from "./errors.js";
import { decodeUtf8, firstInvalidUtf8, invalidUtf8Error } from "./utf8.js";

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

/**
 * A whole (small) text file that must be UTF-8: unreadable is KEEL_E_FILE naming it, bytes that
 * are not UTF-8 are KEEL_E_INVALID_RECORD at their line and byte offset (not U+FFFD).
 */
export function readUtf8File(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, {
      where: { file: path },
    });
  }
  return decodeUtf8(bytes, path);
}

/**
 * The lines of a text file, read a chunk at a time: a JSONL file past V8's string limit
 * (~512 MiB) cannot be one string, but each of its lines can. The lines are the file's text
 * split on "\n" (so numbering matches `text.split("\n")`; a "\r" stays on its line), without a
 * leading byte-order mark. A line whose bytes are not UTF-8 is KEEL_E_INVALID_RECORD at its
 * line and byte offset (decoded, it would read as U+FFFD and train as text the file does not
 * hold). Unreadable: KEEL_E_FILE naming the file. Stopping the iteration early closes the file.
 */
export function* textLines(path: string, chunkBytes = 1 << 20): Generator<string, void, undefined> {
  const fail = (e: unknown) =>
    new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, { where: { file: path } });
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw fail(e);
  }
  let line = 0;
  const decode = (bytes: Buffer): string => {
    line++;
    if (!isUtf8(bytes)) {
      const bad = firstInvalidUtf8(bytes);
      throw invalidUtf8Error(path, line, bad, bytes[bad]!);
    }
    const text = bytes.toString("utf8");
    return line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    /** The bytes of the line being read that earlier chunks held (copies: `buf` is reused). */
    let parts: Buffer[] = [];
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, chunkBytes, null);
      } catch (e) {
        throw fail(e);
      }
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        yield decode(parts.length > 0 ? Buffer.concat([...parts, piece]) : piece);
        parts = [];
        start = nl + 1;
      }
      if (start < n) parts.push(Buffer.from(chunk.subarray(start)));
    }
    yield decode(Buffer.concat(parts));
  } finally {
    closeSync(fd);
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
    case "EFBIG":
      return "file too large (past this process's file-size limit, ulimit -f, or the file system's)";
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
