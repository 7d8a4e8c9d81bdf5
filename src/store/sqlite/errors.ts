/**
 * SQLite's refusals as keel's errors: why a path did not open as a database, and which of
 * SQLite's refusals (about the store's state or its device, not keel's logic) become
 * KEEL_E_STORE naming the file.
 */
import { type Stats, statSync } from "node:fs";
import { KeelError } from "../../core/errors.js";
import { storeBusy } from "../dialect.js";

/**
 * Why a path did not open as a database. better-sqlite3 reads the header lazily, so a file that
 * is not SQLite opens and fails at the first statement; SQLite says "unable to open database
 * file" alike for a directory and for a WAL store whose -shm and -wal files cannot be made
 * beside it (a read-only directory or mount).
 */
export function cannotOpen(e: unknown, path: string): KeelError {
  const message = (e as Error).message;
  const code = (e as { code?: unknown }).code;
  let stat: Stats | undefined;
  try {
    stat = statSync(path);
  } catch {
    // a new file in a missing directory: SQLite's own words say so
  }
  if (stat?.isDirectory()) {
    return new KeelError("KEEL_E_STORE", "cannot open SQLite database: it is a directory", {
      where: { file: path },
      hint: "--db takes a keel store's file (made by keel init), say DIR/keel.db, or a postgres:// URL",
      cause: e,
    });
  }
  if (typeof code === "string" && /^SQLITE_(FULL|IOERR)/.test(code)) {
    // A full device: a WAL store cannot even be read then, as SQLite must make its -shm file.
    return new KeelError(
      "KEEL_E_STORE",
      `cannot open SQLite database: ${message} (${code}: no room, or a failing disk, on the device that holds it; a keel store keeps its -wal and -shm files beside it)`,
      {
        where: { file: path },
        hint: "free space on that device (or check it for errors), then run the command again",
        cause: e,
      },
    );
  }
  if (stat && typeof code === "string" && code.startsWith("SQLITE_CANTOPEN")) {
    return new KeelError(
      "KEEL_E_STORE",
      `cannot open SQLite database: ${message} (a keel store keeps its -wal and -shm files beside it: the directory must be writable, or those files already there)`,
      {
        where: { file: path },
        hint: "copy the store to a writable directory to read it, or check the permissions of the file and its directory",
        cause: e,
      },
    );
  }
  return new KeelError("KEEL_E_STORE", `cannot open SQLite database: ${message}`, {
    where: { file: path },
    ...(stat
      ? { hint: "--db takes a keel store (a SQLite file made by keel init) or a postgres:// URL" }
      : {}),
    cause: e,
  });
}

/**
 * SQLite's refusals that are about the store's state, not keel's logic, as KEEL_E_STORE naming
 * the file: the write lock held by another connection past the busy timeout, and a store that
 * cannot be written (a file or directory without write permission, a read-only mount): SQLite
 * then opens it read-only without a word, reading works, and the first write fails. Anything
 * else (constraint and trigger errors that callers look at) is passed through unchanged.
 */
export function storeError(e: unknown, path: string, busyTimeout: number): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return e;
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
    return storeBusy(path, busyTimeout, e);
  }
  if (/^SQLITE_READONLY/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store cannot be written: ${(e as Error).message} (the file, or the directory it is in, is read-only to this user)`,
      {
        where: { file: path },
        hint: "reading commands (stats, ledger verify, export) work on it; to write, give this user write permission on the file and its directory",
        cause: e,
      },
    );
  }
  // A full disk (or quota) reaches SQLite as SQLITE_FULL, a failing disk as SQLITE_IOERR_*:
  // the write fails (SQLITE_FULL rolls its transaction back, the store stays as it was), and
  // only the machine can change that, not keel's logic.
  if (/^SQLITE_FULL/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store cannot grow: ${(e as Error).message} (no space left on the device that holds it, or a size limit); nothing of this write was stored`,
      {
        where: { file: path },
        hint: "free space on that device (the store needs room for its -wal file too), then run the command again",
        cause: e,
      },
    );
  }
  if (/^SQLITE_IOERR/.test(code)) {
    return new KeelError(
      "KEEL_E_STORE",
      `the store's file could not be read or written: ${(e as Error).message} (${code}); the write was not completed`,
      {
        where: { file: path },
        hint: "check the device that holds it (space, errors in the system log), then run the command again",
        cause: e,
      },
    );
  }
  return e;
}
