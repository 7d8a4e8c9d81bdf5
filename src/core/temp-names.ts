/**
 * Names of the temporary files that atomic writes rename into place, and the clean-up of those
 * a killed process left behind. A process that ends without unwinding (kill -9, a power cut, an
 * out-of-memory kill) cannot remove its own temporary file, and a killed export or checkpoint
 * leaves a hidden file as large as the output would have been. The next write of the same
 * output removes such files: the process that made one is gone, so nothing will rename it.
 *
 * Both writers' names carry the writer's process id: `.NAME.tmp-PID-N` (text outputs, hidden)
 * and `NAME.tmp-PID-N` (checkpoints and run files).
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A file younger than this is left even when its process id names no live process: a process
 * in another PID namespace (a container sharing the directory) may still be writing it.
 */
const STALE_AFTER_MS = 60_000;

/** Targets already cleaned by this process: one directory listing per output, not per write. */
const swept = new Set<string>();

/** The process is running (or exists under another user: kill(pid, 0) says EPERM then). */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Removes the temporary files of `path` (either naming) whose writer no longer runs and that
 * have not changed for a minute. Best effort: a file that cannot be listed or removed is left.
 * Returns the paths removed.
 */
export function removeStaleTemps(path: string, now: number = Date.now()): string[] {
  if (swept.has(path)) return [];
  swept.add(path);
  const dir = dirname(path);
  const name = escapeRegExp(basename(path));
  const pattern = new RegExp(`^\\.?${name}\\.tmp-(\\d+)-\\d+$`);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const m = pattern.exec(entry);
    if (!m || isRunning(Number(m[1]))) continue;
    const file = join(dir, entry);
    try {
      const st = lstatSync(file);
      if (!st.isFile() || now - st.mtimeMs < STALE_AFTER_MS) continue;
      rmSync(file, { force: true });
      removed.push(file);
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
  return removed;
}

/** Forgets which outputs were cleaned (tests). */
export function resetStaleTempSweep(): void {
  swept.clear();
}
