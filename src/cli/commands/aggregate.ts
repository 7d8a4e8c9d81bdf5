/**
 * `keel aggregate` and `keel agreement`: read labels (crowd-kit tables or keel judgments),
 * stream them into dense arrays, run an aggregation method or the agreement metrics, write or
 * print the result. The algorithms live in src/aggregate; this file only parses and prints.
 */
import type { Command } from "commander";
import {
  type CategoricalData,
  CategoricalEncoder,
  categoricalToJson,
  cohenKappaPairs,
  fleissKappa,
  getAggregationMethod,
  type JudgmentData,
  JudgmentEncoder,
  krippendorffAlpha,
  looConsensusAgreement,
  PairwiseEncoder,
  pairwiseToJson,
  posteriorsFromPairwise,
} from "../../aggregate/index.js";
import { KeelError } from "../../core/errors.js";
import { writeFileAtomic } from "../../io/files.js";
import {
  readCategoricalLabels,
  readGold,
  readJudgments,
  readPairwiseLabels,
} from "../../io/index.js";
import { oneOf, positiveInt } from "../common.js";
import { formatTable, printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

const FORMATS = ["crowd-kit", "crowd-kit-pairwise", "judgments"] as const;
type InputFormat = (typeof FORMATS)[number];

function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be an integer ≥ 0, got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

function positiveNumber(flag: string, allowZero = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a ${allowZero ? "non-negative" : "positive"} number, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

async function readCategorical(path: string, gold?: string): Promise<CategoricalData> {
  const enc = new CategoricalEncoder();
  for await (const { record } of readCategoricalLabels(path))
    enc.add(record.task, record.worker, record.label);
  if (gold)
    for await (const { record } of readGold(gold)) enc.addGold(record.comparison_id, record.gold);
  return enc.finish();
}

async function readJudgmentData(path: string, gold?: string): Promise<JudgmentData> {
  const enc = new JudgmentEncoder();
  for await (const { record } of readJudgments(path)) enc.add(record);
  if (gold) for await (const { record } of readGold(gold)) enc.addGold(record);
  return enc.finish();
}

interface AggregateOpts {
  in: string;
  format: InputFormat;
  method?: string;
  gold?: string;
  maxIter?: number;
  tol?: number;
  prior?: number;
  seed?: number;
  out?: string;
  json?: boolean;
}

async function runAggregate(o: AggregateOpts): Promise<void> {
  const key = o.method ?? (o.format === "crowd-kit-pairwise" ? "bradley-terry" : "dawid-skene");
  const method = getAggregationMethod(key);
  const raw: Record<string, unknown> = {};
  if (o.maxIter !== undefined) raw.maxIter = o.maxIter;
  if (o.tol !== undefined) raw.tol = o.tol;
  if (o.prior !== undefined) raw.prior = o.prior;
  if (o.seed !== undefined) raw.seed = o.seed;
  const options = method.validate(raw);
  if (o.format === "crowd-kit" && method.kind !== "categorical") {
    throw new KeelError(
      "KEEL_E_USAGE",
      `${key} is a pairwise method; crowd-kit task,worker,label tables need a categorical one`,
    );
  }
  if (o.format === "crowd-kit-pairwise" && method.kind !== "pairwise") {
    throw new KeelError(
      "KEEL_E_USAGE",
      `${key} is a categorical method; crowd-kit-pairwise tables need a pairwise one`,
    );
  }
  if (o.gold && method.kind === "pairwise") {
    throw new KeelError("KEEL_E_USAGE", "--gold is used by the categorical methods only");
  }
  let json: Record<string, unknown>;
  let summary: Record<string, unknown>;
  if (o.format === "crowd-kit-pairwise") {
    const enc = new PairwiseEncoder();
    for await (const { record } of readPairwiseLabels(o.in))
      enc.addLabelled(record.worker, record.left, record.right, record.label);
    const data = enc.finish();
    if (method.kind !== "pairwise") throw new Error("unreachable");
    const r = method.fit(data, options);
    json = pairwiseToJson(r);
    summary = { judgments: data.left.length, items: data.nItems, workers: data.nWorkers };
  } else if (o.format === "crowd-kit") {
    const data = await readCategorical(o.in, o.gold);
    if (method.kind !== "categorical") throw new Error("unreachable");
    json = categoricalToJson(method.fit(data, options));
    summary = {
      judgments: data.task.length,
      tasks: data.nTasks,
      workers: data.nWorkers,
      classes: data.nClasses,
    };
  } else {
    const data = await readJudgmentData(o.in, o.gold);
    if (method.kind === "categorical") {
      json = categoricalToJson(method.fit(data.categorical, options));
    } else {
      const r = method.fit(data.pairwise, options);
      json = pairwiseToJson(r, posteriorsFromPairwise(r, data.categorical.tasks, data.items));
    }
    summary = {
      judgments: data.categorical.task.length,
      comparisons: data.categorical.nTasks,
      raters: data.categorical.nWorkers,
    };
  }
  summary = {
    method: key,
    ...summary,
    iterations: json.iterations,
    converged: json.converged,
    log_likelihood: json.log_likelihood ?? null,
    out: o.out ?? null,
  };
  if (o.out) await writeFileAtomic(o.out, `${JSON.stringify(json, null, 2)}\n`);
  if (o.json) printJson(o.out ? summary : json);
  else if (!o.out) printJson(json);
  else {
    printLine(
      Object.entries(summary)
        .filter(([, v]) => v !== null)
        .map(
          ([k, v]) => `${k}: ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : v}`,
        )
        .join("  "),
    );
  }
}

interface AgreementOpts {
  in: string;
  format: "crowd-kit" | "judgments";
  top: number;
  json?: boolean;
}

const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(3));

async function runAgreement(o: AgreementOpts): Promise<void> {
  const data =
    o.format === "crowd-kit"
      ? await readCategorical(o.in)
      : (await readJudgmentData(o.in)).categorical;
  const alpha = krippendorffAlpha(data);
  const fleiss = fleissKappa(data);
  const loo = looConsensusAgreement(data);
  const pairs = cohenKappaPairs(data);
  const raters = data.workers.map((w, i) => ({
    rater_id: w,
    loo_agreement: Number.isFinite(loo.agreement[i]!) ? loo.agreement[i]! : null,
    labels: loo.n[i]!,
  }));
  if (o.json) {
    printJson({
      judgments: data.task.length,
      tasks: data.nTasks,
      raters: data.nWorkers,
      krippendorff_alpha: alpha.alpha,
      fleiss_kappa: fleiss.kappa,
      per_rater: raters,
      cohen_kappa: pairs.map((p) => ({
        rater_a: data.workers[p.a],
        rater_b: data.workers[p.b],
        common: p.common,
        kappa: p.kappa,
      })),
    });
    return;
  }
  printLine(
    `${data.task.length} labels by ${data.nWorkers} raters on ${data.nTasks} tasks, ${data.nClasses} classes`,
  );
  printLine(
    `Krippendorff's alpha (nominal): ${fmt(alpha.alpha)}   Fleiss' kappa: ${fmt(fleiss.kappa)} (P̄ ${fmt(fleiss.observed)}, P̄e ${fmt(fleiss.expected)})`,
  );
  const worst = [...raters]
    .sort((a, b) => (a.loo_agreement ?? 2) - (b.loo_agreement ?? 2))
    .slice(0, o.top);
  printLine();
  printLine(
    `agreement with the leave-one-out consensus (${worst.length} of ${raters.length}, lowest first):`,
  );
  printLine(
    formatTable(
      ["rater", "agreement", "labels"],
      worst.map((r) => [r.rater_id, fmt(r.loo_agreement), r.labels]),
    ),
  );
  const lowPairs = [...pairs].sort((a, b) => (a.kappa ?? 2) - (b.kappa ?? 2)).slice(0, o.top);
  if (lowPairs.length > 0) {
    printLine();
    printLine(
      `Cohen's kappa per rater pair (${lowPairs.length} of ${pairs.length}, lowest first):`,
    );
    printLine(
      formatTable(
        ["rater a", "rater b", "common", "kappa"],
        lowPairs.map((p) => [data.workers[p.a], data.workers[p.b], p.common, fmt(p.kappa)]),
      ),
    );
  }
}

export const aggregateCommand: CommandModule = {
  name: "aggregate",
  register(program: Command) {
    program
      .command("aggregate")
      .description(
        "aggregate labels into one answer per task (or scores per item) and a reliability per rater",
      )
      .requiredOption("--in <file>", "labels: crowd-kit CSV/JSONL table or keel judgments JSONL")
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
        "stop when the log-likelihood per judgment improves by less than x",
        positiveNumber("--tol"),
      )
      .option(
        "--prior <x>",
        "pairwise methods: virtual games against a reference item (regularisation)",
        positiveNumber("--prior", true),
      )
      .option(
        "--seed <n>",
        "seed for methods with random restarts (mace, mmsr)",
        nonNegativeInt("--seed"),
      )
      .option("--out <file>", "write the result JSON here (default: stdout)")
      .option("--json", "print a machine-readable summary (with --out) or the result")
      .option("-q, --quiet", "no progress output")
      .action(async (o: AggregateOpts) => runAggregate(o));
    program
      .command("agreement")
      .description(
        "inter-rater agreement: Krippendorff's alpha, Fleiss' kappa, Cohen's kappa per pair, leave-one-out consensus per rater",
      )
      .requiredOption("--in <file>", "labels: crowd-kit CSV/JSONL table or keel judgments JSONL")
      .option(
        "--format <format>",
        "input format: crowd-kit, judgments",
        oneOf("--format", ["crowd-kit", "judgments"] as const),
        "judgments",
      )
      .option("--top <n>", "rows to show in each table", positiveInt("--top"), 10)
      .option("--json", "print everything as JSON")
      .action(async (o: AgreementOpts) => runAgreement(o));
  },
};
