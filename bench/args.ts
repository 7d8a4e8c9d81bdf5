/**
 * The command line of a benchmark program, checked before any work: every argument must be one
 * of the program's flags or options, and every number must be one. A misspelt flag (`--quik`)
 * used to run the full-size benchmark (ten minutes for bench:soak), and `--n abc` a benchmark of
 * NaN judgments that failed much later, somewhere else.
 *
 * A run with any argument besides `--quick` is not the run docs/benchmarks.md reports, so
 * `resultFile` gives it a `.partial` name: it must not replace the committed results.
 */
import { KeelError } from "../src/core/errors.js";

export interface BenchCliSpec {
  /** Arguments that stand alone, e.g. `--quick`. */
  readonly flags?: readonly string[];
  /** Arguments followed by a value, e.g. `--n 1000`. */
  readonly options?: readonly string[];
  /** Options whose value may be left out (the next argument is another flag, or none). */
  readonly optional?: readonly string[];
}

export interface BenchCli {
  readonly quick: boolean;
  /** Some argument other than `--quick` was given: a partial run. */
  readonly partial: boolean;
  has(name: string): boolean;
  /** The option's text (undefined when absent or given without a value). */
  text(name: string): string | undefined;
  /** An integer option ≥ `min`, else `fallback` when absent. */
  int(name: string, fallback: number, min?: number): number;
  /** A comma-separated option whose items are all in `allowed`, else `fallback`. */
  list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[];
}

const usage = (program: string, message: string) =>
  new KeelError("KEEL_E_USAGE", `bench:${program}: ${message}`);

export function parseBenchArgs(
  program: string,
  argv: readonly string[],
  spec: BenchCliSpec,
): BenchCli {
  const flags = new Set(["--quick", ...(spec.flags ?? [])]);
  const options = new Set(spec.options ?? []);
  const optional = new Set(spec.optional ?? []);
  const values = new Map<string, string | undefined>();
  const known = [...flags, ...options, ...optional].join(", ");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (values.has(a)) throw usage(program, `${a} is given twice`);
    if (flags.has(a)) values.set(a, undefined);
    else if (options.has(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw usage(program, `${a} needs a value`);
      values.set(a, v);
      i++;
    } else if (optional.has(a)) {
      const v = argv[i + 1];
      const given = v !== undefined && !v.startsWith("--");
      values.set(a, given ? v : undefined);
      if (given) i++;
    } else throw usage(program, `unknown argument ${JSON.stringify(a)} (known: ${known})`);
  }
  return {
    quick: values.has("--quick"),
    partial: [...values.keys()].some((k) => k !== "--quick"),
    has: (name) => values.has(name),
    text: (name) => values.get(name),
    int(name, fallback, min = 1) {
      const v = values.get(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (v.trim() === "" || !Number.isSafeInteger(n) || n < min)
        throw usage(program, `${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
      return n;
    },
    list(name, allowed, fallback) {
      const v = values.get(name);
      if (v === undefined) return [...fallback];
      const items = v.split(",").filter(Boolean);
      const bad = items.find((x) => !allowed.includes(x as never));
      if (items.length === 0 || bad !== undefined)
        throw usage(
          program,
          `${name} takes a comma-separated list of ${allowed.join(", ")}, got ${JSON.stringify(v)}`,
        );
      return items as (typeof allowed)[number][];
    },
  };
}

/**
 * `parseBenchArgs`, printing a usage error and exiting with its code (64, as the CLI does)
 * instead of throwing, here and when a value is read.
 */
export function benchArgs(program: string, argv: readonly string[], spec: BenchCliSpec): BenchCli {
  const orExit =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        if (!(e instanceof KeelError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exit(e.exitCode);
      }
    };
  const cli = orExit(parseBenchArgs)(program, argv, spec);
  return { ...cli, int: orExit(cli.int), list: orExit(cli.list) as BenchCli["list"] };
}

/** `<name><quick>.json`, with `.partial` before `.json` for a run that is not the documented one. */
/** One row of a benchmark's JSON results: keel's figure, beside its reference where it has one. */
export interface BenchRow {
  config: string;
  metric: string;
  unit: string;
  keel: number;
  reference?: number;
  reference_name?: string;
  ratio?: number;
  note?: string;
}

export function resultFile(name: string, cli: BenchCli, quickSuffix = ".quick"): string {
  return `${name}${cli.quick ? quickSuffix : ""}${cli.partial ? ".partial" : ""}.json`;
}
