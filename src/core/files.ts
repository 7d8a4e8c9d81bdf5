/**
 * Reading whole small files with errors a user can act on: an unreadable file is KEEL_E_FILE
 * naming it and the reason in words, a file that is not JSON is KEEL_E_INVALID_RECORD. Here in
 * core so that every layer (io, train, cli) reads its inputs the same way.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
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

/**
 * The lines of a text file, read a chunk at a time: a JSONL file past V8's string limit
 * (~512 MiB) cannot be one string, but each of its lines can. The lines are the file's text
 * split on "\n" (so numbering matches `text.split("\n")`; a "\r" stays on its line), without a
 * leading byte-order mark; invalid UTF-8 becomes U+FFFD as in `readFileSync(path, "utf8")`.
 * Unreadable: KEEL_E_FILE naming the file. Stopping the iteration early closes the file.
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
  try {
    const decoder = new StringDecoder("utf8");
    const buf = Buffer.allocUnsafe(chunkBytes);
    let rest = "";
    let atStart = true;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, chunkBytes, null);
      } catch (e) {
        throw fail(e);
      }
      let text = n === 0 ? decoder.end() : decoder.write(buf.subarray(0, n));
      if (atStart && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        atStart = false;
      }
      // Only the new text can hold a newline: a long line is not scanned again per chunk.
      let from = rest.length;
      rest += text;
      let start = 0;
      for (let i = rest.indexOf("\n", from); i !== -1; i = rest.indexOf("\n", from)) {
        yield rest.slice(start, i);
        start = from = i + 1;
      }
      rest = rest.slice(start);
      if (n === 0) break;
    }
    yield rest;
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
