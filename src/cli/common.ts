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

/** Decimal notation: an optional sign, digits with an optional fraction, an optional exponent. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number as written on the command line, in decimal notation (`12`, `-0.5`, `.5`, `1e-3`), or
 * NaN, which every flag's parser refuses naming the flag. Number() alone reads too much: "" and
 * blanks as 0 (`--seed "$SEED"` with SEED unset would run with seed 0 unannounced), `0x10`,
 * `0o17` and `0b11` as 16, 15 and 3, " 5 " as 5, "Infinity" and 1e999 as ∞. A non-zero value
 * that underflows to 0 (`1e-400`) is NaN too, not the 0 that would switch a setting off; -0 is 0.
 */
export function numberArg(value: string): number {
  if (!DECIMAL.test(value)) return Number.NaN;
  const n = Number(value);
  if (!Number.isFinite(n)) return Number.NaN;
  if (n === 0 && /[1-9]/.test(value.replace(/[eE].*$/, ""))) return Number.NaN;
  return n === 0 ? 0 : n;
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

/**
 * Parses an integer option from `min` to `max` or fails with a usage error naming the flag. Safe
 * integers only: past 2^53 a number no longer holds every integer, and 9007199254740993 would
 * run as 9007199254740992 (a seed that is not the one given).
 */
export function integerArg(
  flag: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  const range =
    min === Number.MIN_SAFE_INTEGER && max === Number.MAX_SAFE_INTEGER
      ? "an integer"
      : `an integer from ${min} to ${max}`;
  return (value) => {
    const n = numberArg(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new KeelError("KEEL_E_USAGE", `${flag} must be ${range}, got ${JSON.stringify(value)}`);
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
 * `--seed` as text (a string seed is hashed), but not a blank one: `--seed "$SEED"` with SEED
 * unset would run with seed "" unannounced, where keel world generate refuses it too.
 */
export function seedArg(v: string): string {
  if (v.trim() === "")
    throw new KeelError("KEEL_E_USAGE", `--seed must not be blank, got ${JSON.stringify(v)}`);
  return v;
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
