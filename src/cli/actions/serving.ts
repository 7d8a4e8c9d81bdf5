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
    // An IPv6 address in brackets, as in a URL: "::1:8080" reads as another address.
    const host = where.host.includes(":") ? `[${where.host}]` : where.host;
    throw new KeelError("KEEL_E_USAGE", `cannot listen on ${host}:${where.port}: ${why}`, {
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

/**
 * Closes a server after a signal: it takes no new connections, requests being handled finish,
 * and requests that still arrive on open connections are told to go elsewhere (503). The
 * connections still open after `graceMs` (a client that sends its request slowly or does not
 * read its answer), or at a second Ctrl-C or SIGTERM, are cut, so that the shutdown ends instead
 * of waiting on them; the close then goes on (pending commits are drained, the store closed).
 * A third signal ends the process as usual.
 */
export async function closeWithin(
  app: { close(): Promise<unknown>; server: { closeAllConnections(): void } },
  graceMs: number,
): Promise<void> {
  const stopListening = () => {
    process.off("SIGINT", cut);
    process.off("SIGTERM", cut);
  };
  function cut() {
    stopListening();
    app.server.closeAllConnections();
  }
  const timer = setTimeout(cut, graceMs);
  process.on("SIGINT", cut);
  process.on("SIGTERM", cut);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}

/** The secret in environment variable `name` (keys never go on the command line). */
export function secretFromEnv(name: string | undefined, flag: string): string | undefined {
  if (name === undefined) return undefined;
  const v = process.env[name];
  if (!v) throw new KeelError("KEEL_E_USAGE", `${flag} names ${name}, which is not set or empty`);
  return v;
}
