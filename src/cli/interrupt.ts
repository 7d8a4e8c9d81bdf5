/** Ctrl-C for long commands: an abort signal instead of a killed process. */

/**
 * Runs `fn` with an abort signal that the first Ctrl-C (SIGINT) or SIGTERM raises. A second one
 * ends the process at once (exit 130, or 143 for SIGTERM, as the signal itself would): the step
 * being finished may take minutes, or hang on a server that does not answer.
 */
export async function withInterrupt<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  message = "stopping after the current step (a checkpoint is saved)",
): Promise<T> {
  const ac = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (!ac.signal.aborted) {
      process.stderr.write(`\nkeel: ${message}… (Ctrl-C again to stop at once)\n`);
      ac.abort();
      return;
    }
    process.stderr.write("\nkeel: stopped at once\n");
    process.exit(signal === "SIGTERM" ? 143 : 130);
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
