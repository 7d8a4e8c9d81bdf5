/** What the actions of `keel serve-model` and `keel serve-rm` share. */
import { KeelError } from "../../core/errors.js";

/** Waits for Ctrl-C or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** The secret in environment variable `name` (keys never go on the command line). */
export function secretFromEnv(name: string | undefined, flag: string): string | undefined {
  if (name === undefined) return undefined;
  const v = process.env[name];
  if (!v) throw new KeelError("KEEL_E_USAGE", `${flag} names ${name}, which is not set or empty`);
  return v;
}
