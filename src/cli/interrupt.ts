/** Ctrl-C for long commands: an abort signal instead of a killed process. */

/** Runs `fn` with an abort signal that the first Ctrl-C (SIGINT) or SIGTERM raises. */
export async function withInterrupt<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  message = "stopping after the current step (a checkpoint is saved)",
): Promise<T> {
  const ac = new AbortController();
  const stop = () => {
    if (!ac.signal.aborted) process.stderr.write(`\nkeel: ${message}…\n`);
    ac.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    return await fn(ac.signal);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
