/**
 * One writer per output directory. A run directory (`keel run`, `keel train`, `keel experiment`)
 * written by two processes at once — a command started twice, a scheduler retrying while the
 * first attempt still runs — ends mixed: both append to metrics.jsonl, both save and prune
 * checkpoints, the last to write state.json or manifest.json drops the other's record, and a
 * later --resume trusts the mix. The command that writes a directory holds `.keel-lock` in it for
 * as long as it runs.
 *
 * The lock file is created whole or not at all: its record (process id, host, start time,
 * command) is written to a temporary file that is then hard-linked to the lock's name, and the
 * link fails when the name is taken. A lock whose holder is gone (killed with SIGKILL, out of
 * memory, a power cut) is taken over with a note, on the same host only: the holder's process
 * id is checked there (and, on Linux, the process's start time and the boot, so a reused id or
 * a reboot is not taken for the holder). A lock from another host (a shared file system) is not
 * taken over: keel cannot see that host's processes, and says how to remove it.
 *
 * The lock is released when the command ends (normally, by an error, by Ctrl-C or SIGTERM as
 * withInterrupt unwinds it, or by process.exit on a second Ctrl-C). The file is hidden, as
 * readers of a run directory expect of files that are not the run's (foreignContents).
 */
import { randomUUID } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { KeelError } from "./errors.js";
import { describeFsError } from "./files.js";
import { printable } from "./printable.js";
import { syncDirectory } from "./sync-dir.js";
import { removeStaleTemps } from "./temp-names.js";

export const LOCK_FILE = ".keel-lock";

/** The lock file, or one of its temporary files (`.keel-lock.tmp-PID-N`). */
export function isLockFile(name: string): boolean {
  return name === LOCK_FILE || /^\.keel-lock\.tmp-\d+-\d+$/.test(name);
}

/** What a lock file holds. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly started_at: string;
  /** The command's arguments after `keel`. */
  readonly command: readonly string[];
  /** Linux: the process's start time in clock ticks since boot (/proc/PID/stat, field 22). */
  readonly proc_start?: string;
  /** Linux: the boot the process ran in (/proc/sys/kernel/random/boot_id). */
  readonly boot_id?: string;
  /** Tells this holding apart from any other, for its release. */
  readonly token: string;
}

export interface DirLock {
  readonly dir: string;
  /** What was taken over (a lock left by a process that is gone), if anything. */
  readonly tookOver: string | undefined;
  /** Removes the lock (if it is still this one's); idempotent. */
  release(): void;
}

/** Locks this process holds, by lock file path: a lock naming this process is stale otherwise. */
const held = new Map<string, { token: string; release: () => void }>();

function releaseAll(): void {
  for (const h of [...held.values()]) h.release();
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: when the process started (the name, field 2, may hold spaces). */
function procStart(pid: number | "self"): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

const bootId = () => readOr("/proc/sys/kernel/random/boot_id");

let seq = 0;
const tempName = (path: string) => `${path}.tmp-${process.pid}-${++seq}`;

function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(text ?? "") as Partial<LockHolder>;
    const ok =
      Number.isSafeInteger(h.pid) &&
      (h.pid as number) > 0 &&
      typeof h.host === "string" &&
      typeof h.started_at === "string" &&
      typeof h.token === "string" &&
      Array.isArray(h.command);
    return ok ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** The process exists (running, or under another user: kill(pid, 0) says EPERM then). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Whether the holder, on this host, still runs. */
function holderRuns(h: LockHolder, key: string): boolean {
  if (h.boot_id !== undefined && bootId() !== undefined && h.boot_id !== bootId()) return false;
  if (h.pid === process.pid) return held.get(key)?.token === h.token;
  if (!processExists(h.pid)) return false;
  // Running (or there under another user): the same process only if it started when the holder did.
  const now = h.proc_start === undefined ? undefined : procStart(h.pid);
  return now === undefined || now === h.proc_start;
}

/** `keel run --config c.yaml …`, shortened. */
function commandLine(h: LockHolder): string {
  const line = ["keel", ...h.command.map(String)].join(" ");
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** The holder in words; its fields are the lock file's (anyone's) text, so escaped. */
const describe = (h: LockHolder) =>
  printable(`process ${h.pid} on ${h.host} ("${commandLine(h)}", since ${h.started_at})`);

/** Writes the record through a new file (`wx`: fails with EEXIST when `path` is there). */
function writeNew(path: string, record: LockHolder): void {
  const fd = openSync(path, "wx");
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const exists = (e: unknown) => (e as NodeJS.ErrnoException).code === "EEXIST";

/** Creates the lock file whole, or returns false when its name is taken. */
function create(path: string, record: LockHolder): boolean {
  const temp = tempName(path);
  writeNew(temp, record);
  try {
    linkSync(temp, path);
    return true;
  } catch (e) {
    if (exists(e)) return false;
    if (!NO_LINKS.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    rmSync(temp, { force: true });
  }
  // A file system without hard links: created empty, then written (a reader may see it empty).
  try {
    writeNew(path, record);
    return true;
  } catch (e) {
    if (exists(e)) return false;
    throw e;
  }
}

/** What link() says on a file system that has no hard links (some FUSE and SMB mounts). */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Moves a lock left by a process that no longer runs out of the way. If, between reading it and
 * moving it, another process took it over and made its own, that one is put back.
 */
function clearStale(path: string, stale: LockHolder | undefined): void {
  const aside = tempName(path);
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // cleared by another process
    throw e;
  }
  const moved = parseHolder(readOr(aside));
  if (moved?.token !== stale?.token) {
    try {
      linkSync(aside, path);
    } catch {
      // taken again meanwhile: the next attempt reads who holds it now
    }
  }
  rmSync(aside, { force: true });
}

/** A lock file whose record cannot be read is one being made (wx fallback) for this long. */
const UNREADABLE_GRACE_MS = 5_000;

function busy(dir: string, path: string, h: LockHolder | undefined, here: string): KeelError {
  if (h === undefined)
    return new KeelError(
      "KEEL_E_BUSY",
      `${dir} is locked by another keel process (its lock file is being written)`,
      {
        hint: `wait for that command to end, then run this one again (or, if none runs, remove ${path})`,
      },
    );
  if (h.host !== here)
    return new KeelError(
      "KEEL_E_BUSY",
      `${dir} is locked by keel ${describe(h)}, another host: keel cannot tell from ${here} whether that process still runs`,
      {
        hint: `if no keel process ${h.pid} runs on ${h.host} any more, remove ${path} and run the command again`,
      },
    );
  return new KeelError(
    "KEEL_E_BUSY",
    `${dir} is being written by another keel command: ${describe(h)}`,
    {
      hint: "two commands writing one directory would mix their metrics, checkpoints and records: wait for that one to end (or stop it), then run this one again",
    },
  );
}

/**
 * How the lock at `path` stands for a process on `here`: free (no lock file, or gone while
 * looked at), busy (a holder that runs, one on another host, or a record still being written),
 * or stale (its holder is gone, or its record unreadable for longer than a write takes).
 */
function standing(
  dir: string,
  path: string,
  key: string,
  here: string,
): "free" | { readonly busy: KeelError } | { readonly stale: LockHolder | undefined } {
  const text = readOr(path);
  if (text === undefined) return "free";
  const h = parseHolder(text);
  if (h === undefined) {
    let age = Number.POSITIVE_INFINITY;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      return "free";
    }
    return age < UNREADABLE_GRACE_MS ? { busy: busy(dir, path, undefined, here) } : { stale: h };
  }
  return h.host !== here || holderRuns(h, key) ? { busy: busy(dir, path, h, here) } : { stale: h };
}

/** Takes the lock; returns what was taken over (a holder gone, or an unreadable record). */
function acquire(dir: string, path: string, key: string, record: LockHolder): string | undefined {
  const here = record.host;
  let tookOver: string | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(path, record)) return tookOver;
    const s = standing(dir, path, key, here);
    if (s === "free") continue; // released meanwhile
    if ("busy" in s) throw s.busy;
    clearStale(path, s.stale);
    tookOver = s.stale
      ? `the lock left by keel ${describe(s.stale)}, which no longer runs`
      : "a lock file that holds no keel lock record";
  }
  throw busy(dir, path, parseHolder(readOr(path)), here);
}

/**
 * What taking the lock on `dir` now would be refused with (KEEL_E_BUSY naming the holder), or
 * undefined when it would be taken (no lock, or one left by a process that is gone). Nothing is
 * written: for the commands' --check, which refuse what the command would refuse.
 */
export function lockRefusal(dir: string): KeelError | undefined {
  let key: string;
  try {
    key = join(realpathSync(dir), LOCK_FILE);
  } catch {
    return undefined; // no directory, no lock
  }
  const s = standing(dir, join(dir, LOCK_FILE), key, hostname());
  return typeof s === "object" && "busy" in s ? s.busy : undefined;
}

/**
 * Locks `dir` (which must exist) for this process, or fails with KEEL_E_BUSY naming the holder.
 * A stale lock is taken over and `note` told of it. With `removeDir`, releasing also removes the
 * directory when nothing but the lock is in it (it was made for this command, which wrote
 * nothing there).
 */
export function lockDir(
  dir: string,
  opts: {
    readonly command?: readonly string[];
    readonly note?: (line: string) => void;
    readonly removeDir?: boolean;
  } = {},
): DirLock {
  const path = join(dir, LOCK_FILE);
  const key = join(realpathSync(dir), LOCK_FILE);
  const procStartNow = procStart("self");
  const boot = bootId();
  const record: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    command: [...(opts.command ?? process.argv.slice(2))],
    ...(procStartNow !== undefined ? { proc_start: procStartNow } : {}),
    ...(boot !== undefined ? { boot_id: boot } : {}),
    token: randomUUID(),
  };
  removeStaleTemps(path);
  let tookOver: string | undefined;
  try {
    tookOver = acquire(dir, path, key, record);
  } catch (e) {
    if (e instanceof KeelError) throw e;
    throw new KeelError("KEEL_E_FILE", `cannot lock the directory: ${describeFsError(e)}`, {
      where: { file: path },
      hint: "keel writes a lock file (.keel-lock) into the directory it writes: it must be writable",
      cause: e,
    });
  }
  syncDirectory(dir);
  if (tookOver)
    (opts.note ?? ((l) => process.stderr.write(`keel: ${l}\n`)))(`${dir}: took over ${tookOver}`);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(key);
    if (held.size === 0) process.off("exit", releaseAll);
    // Only this holding's file: a lock taken over from it (another host judged it gone) stays.
    if (parseHolder(readOr(path))?.token === record.token) rmSync(path, { force: true });
    if (!opts.removeDir) return;
    try {
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // not there, or not empty: it is a run's now
    }
  };
  if (held.size === 0) process.on("exit", releaseAll);
  held.set(key, { token: record.token, release });
  return { dir, tookOver, release };
}

/** Runs `fn` with `dir` locked (lockDir), releasing the lock however `fn` ends. */
export async function withDirLock<T>(
  dir: string,
  fn: (lock: DirLock) => Promise<T>,
  opts: Parameters<typeof lockDir>[1] = {},
): Promise<T> {
  const lock = lockDir(dir, opts);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}
