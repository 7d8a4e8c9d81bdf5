/**
 * Temporary output files that are still being written. Failures remove their own (TextSink's
 * abort); this registry covers the ways a process ends without unwinding. On Ctrl-C or SIGTERM
 * that nothing else handles (the signal will end the process), it removes every registered
 * file and lets the signal take its course. When a command handles the signal itself to stop
 * gracefully (withInterrupt: finish the step, save a checkpoint), the files are left to that
 * unwinding: removing them then would make a write still in progress fail for nothing. Any
 * file still registered when the process exits (process.exit included) is removed then.
 */
import { rmSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const live = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function onSignal(signal: NodeJS.Signals): void {
  if (process.listeners(signal).some((l) => l !== onSignal)) return; // someone stops gracefully
  removeLiveTempFiles();
  // Re-raise with the default action (exit 130 / 143).
  process.kill(process.pid, signal);
}

function onExit(): void {
  for (const path of live) rmSync(path, { force: true });
  live.clear();
}

/** Removes every registered temporary file now (signal handlers; tests). */
export function removeLiveTempFiles(): void {
  onExit();
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
  if (on) process.on("exit", onExit);
  else process.off("exit", onExit);
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
