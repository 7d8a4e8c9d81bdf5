/**
 * Temporary output files that are still being written. Failures remove their own (TextSink's
 * abort); this registry covers Ctrl-C and SIGTERM, which end the process without unwinding: on
 * either signal it removes every registered file and lets the signal take its course.
 */
import { rmSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const live = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function onSignal(signal: NodeJS.Signals): void {
  removeLiveTempFiles();
  // Re-raise with the default action (exit 130 / 143) unless someone else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Removes every registered temporary file now (signal handlers; tests). */
export function removeLiveTempFiles(): void {
  for (const path of live) rmSync(path, { force: true });
  live.clear();
  setHandlers(false);
}

let installed = false;
function setHandlers(on: boolean): void {
  // Signals reach only the main thread; a worker's files are registered there by its owner.
  if (!isMainThread || on === installed) return;
  installed = on;
  for (const s of SIGNALS) {
    if (on) process.on(s, onSignal);
    else process.off(s, onSignal);
  }
}

/** Registers a temporary file to remove if the process is interrupted before it is done. */
export function trackTempFile(path: string): void {
  live.add(path);
  setHandlers(true);
}

/** The file was renamed into place or removed: nothing left to clean up. */
export function untrackTempFile(path: string): void {
  live.delete(path);
  if (live.size === 0) setHandlers(false);
}
