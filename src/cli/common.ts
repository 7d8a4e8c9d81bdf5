/**
 * Options and option parsers shared by the command definitions. Everything here is cheap to
 * load: defining the commands must not load the store, the engine or the server (see
 * registry.ts); what the actions share lives in actions/.
 */
import { type Command, Option } from "commander";
import { KeelError } from "../core/errors.js";

export const DEFAULT_DB = "keel.db";

/**
 * `--db`, or else the KEEL_DB environment variable. The variable is read when the command runs
 * and checked as the flag is; not when the command is defined, where the help would show its
 * value (a URL may hold a password) and a mistyped URL would pass unchecked.
 */
export function addDbOption(cmd: Command): Command {
  return cmd
    .option(
      "--db <path|url>",
      "feedback store: a SQLite file path or a postgres:// URL (env KEEL_DB)",
      dbTarget,
      DEFAULT_DB,
    )
    .hook("preAction", (c) => {
      const env = process.env.KEEL_DB;
      if (env !== undefined && c.getOptionValueSource("db") === "default")
        c.setOptionValueWithSource("db", dbTarget(env), "env");
    });
}

/**
 * `--db`: a mistyped URL (`postgress://…`, `postgres:/host/db`) would be taken for a SQLite file
 * name — "no keel store at …", or `keel init` failing on a directory that does not exist. The
 * message names the scheme only: the URL may hold a password.
 */
export function dbTarget(value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  const postgres = scheme === "postgres" || scheme === "postgresql";
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  if ((postgres && !url) || (url && !postgres))
    throw new KeelError(
      "KEEL_E_USAGE",
      postgres
        ? `--db (or KEEL_DB): a PostgreSQL URL starts with ${scheme}://`
        : `--db (or KEEL_DB): unknown URL scheme ${JSON.stringify(`${scheme}://`)}`,
      { hint: "give a SQLite file path or a postgres://user@host/database URL" },
    );
  return value;
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option("--json", "print machine-readable JSON on stdout")
    .option("-q, --quiet", "no progress output");
}

/**
 * An option that collects its values (repeatable, or a parsed list), starting empty; the help
 * shows `shown` as its default ("none", or what an empty list stands for) instead of `[]`.
 */
export function listOption<T>(
  flags: string,
  description: string,
  collect: (value: string, previous: T[]) => T[],
  shown: string,
): Option {
  return new Option(flags, description).argParser(collect).default([] as T[], shown);
}

/**
 * A number as written on the command line. Number() reads "" and blanks as 0, so `--seed
 * "$SEED"` with SEED unset would run with seed 0 unannounced: blank is NaN here.
 */
export function numberArg(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value);
}

/** Parses a positive integer option or fails with a usage error naming the flag. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = numberArg(value);
    // Safe integers only: 1e20 is an integer to JavaScript, but not to SQL or a loop counter.
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a positive integer, got ${JSON.stringify(value)}`,
      );
    return n;
  };
}

/** Parses an integer option ≥ 0 or fails with a usage error naming the flag. */
export function nonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    const n = numberArg(value);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be an integer ≥ 0, got ${JSON.stringify(value)}`,
      );
    return n;
  };
}

/**
 * Parses a backdoor-trigger token: one token without spaces, as the world config requires (an
 * empty trigger would make the trigger probes the same as their controls).
 */
export function triggerToken(flag: string): (value: string) => string {
  return (value) => {
    if (!/^\S+$/.test(value))
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be one token without spaces, got ${JSON.stringify(value)}`,
      );
    return value;
  };
}

/** Validates an option against a fixed list of choices. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be one of ${choices.join(", ")}; got ${JSON.stringify(value)}`,
      );
    }
    return value as T;
  };
}

export function shortHash(hash: string): string {
  return hash.slice(0, 16);
}
