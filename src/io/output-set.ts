/**
 * Outputs renamed into place as one set (`commitTogether` in files.ts). Each file is complete
 * on disk (written, fsynced) before any is renamed; then a journal naming every temporary file
 * and its final name is written into each directory the set touches (`.keel-outputs.json`,
 * fsynced), the files are renamed, and the journals removed. A crash before a journal exists
 * leaves the old files (the temporaries are cleaned up as any other's); one after leaves a
 * journal, and the next keel command that writes into that directory or reads one of the set's
 * files finishes the renames first (all the new files were complete before the journal was
 * written). From journal to last rename the work is synchronous: no Ctrl-C handler can run in
 * between and remove a temporary file it names.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { processExists } from "../core/dir-lock.js";
import { KeelError } from "../core/errors.js";
import { describeFsError } from "../core/files.js";
import { syncDirectory } from "../core/sync-dir.js";
import { removeStaleTemps } from "../core/temp-names.js";
import type { TextSink } from "./files.js";
import { canonicalPath } from "./output-target.js";

const SET_JOURNAL = ".keel-outputs.json";
const SET_FORMAT = "keel-output-set";

export interface OutputSet {
  /** The command writing it, for messages ("keel world generate"). */
  readonly what: string;
  readonly sinks: TextSink[];
}

/** One file of a set, by names inside `dir` (a journal acts on its own directory only). */
export interface SetMember {
  readonly dir: string;
  readonly tmp: string;
  readonly final: string;
  /** The path as the user gave it (messages). */
  readonly path: string;
}

interface SetJournal {
  readonly format: typeof SET_FORMAT;
  readonly pid: number;
  readonly what: string;
  readonly members: readonly { readonly tmp: string; readonly final: string }[];
}

export const currentSet = new AsyncLocalStorage<OutputSet>();
let journalCounter = 0;

export function renameSet(members: readonly SetMember[], what: string): void {
  const dirs = [...new Set(members.map((m) => m.dir))];
  const written: string[] = [];
  try {
    for (const dir of dirs)
      written.push(
        writeJournal(
          dir,
          members.filter((m) => m.dir === dir),
          what,
        ),
      );
  } catch (e) {
    for (const j of written) rmSync(j, { force: true });
    for (const m of members) rmSync(join(m.dir, m.tmp), { force: true });
    throw e;
  }
  for (const m of members) {
    try {
      renameSync(join(m.dir, m.tmp), join(m.dir, m.final));
    } catch (e) {
      throw new KeelError("KEEL_E_FILE", `cannot write: ${describeFsError(e)}`, {
        where: { file: m.path },
        hint: `the other files ${what} wrote with it may already be new: ${join(m.dir, SET_JOURNAL)} lists them, and the next keel command that writes there finishes the replacement`,
      });
    }
  }
  for (const dir of dirs) syncDirectory(dir);
  for (const j of written) rmSync(j, { force: true });
  for (const dir of dirs) syncDirectory(dir);
}

/** Writes a set's journal into `dir` (temporary file, fsync, rename, directory fsync). */
function writeJournal(dir: string, members: readonly SetMember[], what: string): string {
  const journal = join(dir, SET_JOURNAL);
  const body: SetJournal = {
    format: SET_FORMAT,
    pid: process.pid,
    what,
    members: members.map((m) => ({ tmp: m.tmp, final: m.final })),
  };
  removeStaleTemps(journal);
  const tmp = join(dir, `${SET_JOURNAL}.tmp-${process.pid}-${journalCounter++}`);
  try {
    const fd = openSync(tmp, "wx", 0o644);
    try {
      writeSync(fd, `${JSON.stringify(body)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, journal);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new KeelError("KEEL_E_FILE", `cannot write: ${describeFsError(e)}`, {
      where: { file: journal },
    });
  }
  syncDirectory(dir);
  return journal;
}

/** A name of a file directly in the journal's directory, and a temporary file's name for it. */
function isMember(m: unknown): m is { tmp: string; final: string } {
  if (typeof m !== "object" || m === null) return false;
  const { tmp, final } = m as Record<string, unknown>;
  const plain = (s: unknown): s is string =>
    typeof s === "string" && s !== "" && s !== "." && s !== ".." && !/[/\\\0]/.test(s);
  return plain(tmp) && plain(final) && tmp.startsWith(`.${final}.tmp-`);
}

function readJournal(journal: string): SetJournal | undefined {
  let text: string;
  try {
    text = readFileSync(journal, "utf8");
  } catch {
    // None (the usual case), or one this process cannot read and so cannot act on either: the
    // file's own open says what is wrong with its path.
    return undefined;
  }
  let j: Partial<SetJournal> | undefined;
  try {
    j = JSON.parse(text) as Partial<SetJournal>;
  } catch {
    j = undefined;
  }
  if (
    j?.format !== SET_FORMAT ||
    !Number.isSafeInteger(j.pid) ||
    typeof j.what !== "string" ||
    !Array.isArray(j.members) ||
    // keel journals sets of two files or more; with none, settleOutputSet had no file to name
    j.members.length === 0 ||
    !j.members.every(isMember)
  )
    throw new KeelError("KEEL_E_FILE", "is not a journal of keel's output files", {
      where: { file: journal },
      hint: "keel writes this name while it replaces several files at once; remove it if keel did not",
    });
  return j as SetJournal;
}

/**
 * Finishes the renames of a set that a killed keel left half done in `dir` (its journal lists
 * them); with `file`, only if the journal names that file. A set another process is renaming
 * right now (its journal is younger than a minute) is KEEL_E_FILE: try again.
 */
export function settleOutputSet(dir: string, file?: string): void {
  const journal = join(dir, SET_JOURNAL);
  const j = readJournal(journal);
  if (j === undefined || (file !== undefined && !j.members.some((m) => m.final === file))) return;
  const named = join(dir, file ?? j.members[0]!.final);
  let young = false;
  try {
    young = Date.now() - statSync(journal).mtimeMs < 60_000;
  } catch {
    return; // finished meanwhile
  }
  if (j.pid !== process.pid && young && processExists(j.pid))
    throw new KeelError(
      "KEEL_E_FILE",
      `is being replaced, with the other files of its set, by ${j.what} (process ${j.pid})`,
      { where: { file: named }, hint: "try again once that command has finished" },
    );
  for (const m of j.members) {
    try {
      renameSync(join(dir, m.tmp), join(dir, m.final));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // renamed before the crash
      throw new KeelError(
        "KEEL_E_FILE",
        `is one of a set of files that an interrupted ${j.what} left half replaced (some new, some old), and finishing the replacement failed: ${describeFsError(e)}`,
        {
          where: { file: join(dir, m.final) },
          hint: `${journal} lists the set; run ${j.what} again`,
        },
      );
    }
  }
  syncDirectory(dir);
  rmSync(journal, { force: true });
  syncDirectory(dir);
}

/** Finishes the set of files `path` belongs to, if a killed keel left it half renamed. */
export function settleSetOf(path: string): void {
  const real = canonicalPath(path);
  settleOutputSet(dirname(real), basename(real));
}
