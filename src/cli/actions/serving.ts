/** What the actions of `keel serve`, `keel serve-model` and `keel serve-rm` share. */
import { KeelError } from "../../core/errors.js";

/** What a listen failure means, by its system error code. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: "the address is already in use",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "no such address on this machine",
  ENOTFOUND: "the host name does not resolve",
};

/**
 * Starts listening; when that fails (port taken, no permission, unknown host), runs `cleanup`
 * (close the app and whatever it holds, so the process can exit) and throws a usage error that
 * says which address and why, instead of a stack trace.
 */
export async function listenOrExplain(
  app: { listen(o: { port: number; host: string }): Promise<string> },
  where: { port: number; host: string },
  cleanup: () => Promise<void>,
): Promise<string> {
  try {
    return await app.listen(where);
  } catch (e) {
    await cleanup().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? "";
    const why = LISTEN_ERRORS[code] ?? (e as Error).message;
    throw new KeelError("KEEL_E_USAGE", `cannot listen on ${where.host}:${where.port}: ${why}`, {
      hint:
        code === "EADDRINUSE"
          ? "stop what is using that port, or choose another with --port (0 picks a free one)"
          : "check --host and --port",
    });
  }
}

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
