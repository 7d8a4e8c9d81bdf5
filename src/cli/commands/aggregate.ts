/**
 * `keel aggregate` and `keel agreement`: read labels (crowd-kit tables or keel judgments),
 * or the judgments of a store), stream them into dense arrays, run an aggregation method or the agreement metrics, write or
 * print the result. The algorithms live in src/aggregate; this file only defines the options
 * (the action is in actions/aggregate.ts).
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { addDbOption, nonNegativeInt, numberArg, oneOf, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

const FORMATS = ["crowd-kit", "crowd-kit-pairwise", "judgments"] as const;
type InputFormat = (typeof FORMATS)[number];

function positiveNumber(flag: string, allowZero = false) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a ${allowZero ? "non-negative" : "positive"} number, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

export interface AggregateFlags {
  /** A labels file; without it, the judgments of the store `db` names. */
  in?: string;
  db?: string;
  format: InputFormat;
  method?: string;
  gold?: string;
  maxIter?: number;
  tol?: number;
  prior?: number;
  seed?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface AgreementFlags {
  in?: string;
  db?: string;
  format: "crowd-kit" | "judgments";
  top: number;
  minCommon: number;
  json?: boolean;
  quiet?: boolean;
}

export const aggregateCommand: CommandModule = {
  name: "aggregate",
  register(program: Command) {
    const aggregate = program
      .command("aggregate")
      .description(
        "aggregate labels into one answer per task (or scores per item) and a reliability per rater",
      )
      .option(
        "-i, --in <file>",
        "labels: crowd-kit CSV/JSONL table or keel judgments JSONL (otherwise the store given by --db)",
      )
      .option(
        "--format <format>",
        `input format: ${FORMATS.join(", ")}`,
        oneOf("--format", FORMATS),
        "judgments",
      )
      .option(
        "--method <name>",
        "aggregation method (see docs/aggregate.md); default dawid-skene, or bradley-terry for pairwise tables",
      )
      .option("--gold <file>", "known answers (JSONL {comparison_id, gold} or CSV task,true_label)")
      .option(
        "--max-iter <n>",
        "maximum iterations (0 returns the initialisation)",
        nonNegativeInt("--max-iter"),
      )
      .option(
        "--tol <x>",
        "stop when the log-likelihood per judgment improves by less than x (pairwise: and the scores are within √x of their limit)",
        positiveNumber("--tol"),
      )
      .option(
        "--prior <x>",
        "pairwise methods: virtual games against a reference item (regularisation)",
        positiveNumber("--prior", true),
      )
      .option(
        "--seed <n>",
        "seed for methods with random restarts (mace)",
        nonNegativeInt("--seed"),
      )
      .option("--out <file>", "write the result JSON here (default: stdout)")
      .option("--json", "print a machine-readable summary (with --out) or the result")
      .option("-q, --quiet", "no progress output");
    addDbOption(aggregate)
      .addHelpText(
        "after",
        "\nExamples:\n  keel aggregate --db keel.db --method dawid-skene --out aggregate.json\n" +
          "  keel aggregate --in judgments.jsonl --method noisy-bt --prior 1\n" +
          "  keel aggregate --in labels.csv --format crowd-kit --method glad --gold gold.csv",
      )
      .action(async (o: AggregateFlags) => {
        const { runAggregate } = await import("../actions/aggregate.js");
        // --db has a default; a given --in wins.
        await runAggregate(o.in ? { ...o, db: undefined } : o);
      });
    const agreement = program
      .command("agreement")
      .description(
        "inter-rater agreement: Krippendorff's alpha, Fleiss' kappa, Cohen's kappa per pair, leave-one-out consensus per rater",
      )
      .option(
        "-i, --in <file>",
        "labels: crowd-kit CSV/JSONL table or keel judgments JSONL (otherwise the store given by --db)",
      )
      .option(
        "--format <format>",
        "input format: crowd-kit, judgments",
        oneOf("--format", ["crowd-kit", "judgments"] as const),
        "judgments",
      )
      .option("--top <n>", "rows to show in each table", positiveInt("--top"), 10)
      .option(
        "--min-common <n>",
        "the pairs table: only rater pairs with at least this many tasks in common (a kappa over a few is noise; --json lists every pair)",
        positiveInt("--min-common"),
        10,
      )
      .option("--json", "print everything as JSON")
      .option("-q, --quiet", "no progress output");
    addDbOption(agreement).action(async (o: AgreementFlags) => {
      const { runAgreement } = await import("../actions/aggregate.js");
      await runAgreement(o.in ? { ...o, db: undefined } : o);
    });
  },
};
