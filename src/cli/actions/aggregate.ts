/** `keel aggregate` and `keel agreement`'s actions: read the labels, fit or measure, print. */
import {
  AGGREGATION_METHODS,
  type AggregationMethod,
  type CategoricalData,
  CategoricalEncoder,
  type CohenPair,
  categoricalToJson,
  cohenKappaPairs,
  firstLabels,
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
import { redactUrl } from "../../core/redact.js";
import {
  readCategoricalLabels,
  readGold,
  readJudgments,
  readPairwiseLabels,
} from "../../io/index.js";
import { writeJsonFile } from "../../io/json-file.js";
import { resolveOutputTarget } from "../../io/output-target.js";
import type { AggregateFlags, AgreementFlags } from "../commands/aggregate.js";
import { count, formatTable, printJson, printLine, summaryPrinter } from "../output.js";
import { Progress } from "../progress.js";
import { checkOutputFiles } from "./out-paths.js";
import { sourceFiles } from "./source-files.js";
import { withStore } from "./with-store.js";

/** Where the labels come from: a file (`--in`) or the judgments of a store (`--db`). */
interface LabelSource {
  readonly in?: string | undefined;
  readonly db?: string | undefined;
  readonly format: string;
  readonly quiet?: boolean | undefined;
}

/** Progress goes to a terminal's stderr, unless --quiet. */
function showsProgress(o: LabelSource): boolean {
  return !o.quiet && Boolean(process.stderr.isTTY);
}

/**
 * A fit has no natural count to show and runs for a minute at a million judgments (MACE, GLAD):
 * say what is happening, as `keel audit` does, rather than sit silent after the reading bar.
 */
function sayFitting(o: LabelSource, method: string, judgments: number): void {
  if (showsProgress(o))
    process.stderr.write(
      `aggregate: fitting ${method} to ${judgments.toLocaleString("en-US")} judgments…\n`,
    );
}

/** The file named by --in; a crowd-kit table cannot come from the store. */
function inputFile(o: LabelSource): string {
  if (o.in) return o.in;
  throw new KeelError("KEEL_E_USAGE", `--format ${o.format} reads a table from a file: give --in`, {
    hint: "the store holds judgments; leave --format at judgments to read them from --db",
  });
}

/** An empty input has nothing to aggregate or measure: say so rather than print empty results. */
function requireLabels(n: number, o: LabelSource): void {
  if (n > 0) return;
  if (o.in)
    throw new KeelError("KEEL_E_INVALID_RECORD", "no labels in the file", {
      where: { file: o.in },
      hint: "the file is empty or has only blank lines",
    });
  throw new KeelError("KEEL_E_NOT_FOUND", "the store holds no judgments", {
    where: { file: redactUrl(o.db ?? "") },
    hint: "import judgments first (keel import FILE --db …), or give a file with --in",
  });
}

async function readCategorical(path: string, gold?: string): Promise<CategoricalData> {
  const enc = new CategoricalEncoder();
  for await (const { record } of readCategoricalLabels(path))
    enc.add(record.task, record.worker, record.label);
  if (gold)
    for await (const { record, line } of readGold(gold))
      enc.addGold(record.comparison_id, record.gold, { file: gold, line });
  return enc.finish();
}

/** Judgments from the file, or else from the store (with the comparisons' stored gold). */
async function readJudgmentData(o: LabelSource, gold?: string): Promise<JudgmentData> {
  const enc = new JudgmentEncoder();
  if (o.in) {
    const file = o.in;
    const p = new Progress({ label: "reading", unit: "judgments", enabled: showsProgress(o) });
    let n = 0;
    for await (const { record, line } of readJudgments(file)) {
      p.update(++n);
      try {
        enc.add(record, { file, line });
      } catch (e) {
        // The encoder knows the comparison, not the line: say both.
        if (!(e instanceof KeelError)) throw e;
        throw new KeelError(e.code, e.detail, {
          where: { ...e.where, file, line },
          ...(e.hint ? { hint: e.hint } : {}),
        });
      }
    }
    p.finish();
  } else if (o.db) {
    // One snapshot: judgments appended meanwhile (a live server) are not half read.
    await withStore(o.db, (s) =>
      s.inSnapshot(async (store) => {
        const p = new Progress({
          label: "reading",
          unit: "judgments",
          total: await store.countJudgments(),
          enabled: showsProgress(o),
        });
        let n = 0;
        for await (const j of store.judgmentsTextsOnce()) {
          enc.add(j);
          p.update(++n);
        }
        p.finish();
      }),
    );
  } else {
    throw new KeelError("KEEL_E_USAGE", "give --in <file> or --db <store>");
  }
  if (gold)
    for await (const { record, line } of readGold(gold)) enc.addGold(record, { file: gold, line });
  return enc.finish();
}

const FLAG_OF: Record<string, string> = {
  maxIter: "--max-iter",
  tol: "--tol",
  prior: "--prior",
  seed: "--seed",
};

/** The method's options from the flags; a flag the method does not take is named as such. */
function validateFlags(method: AggregationMethod, raw: Record<string, unknown>) {
  for (const k of Object.keys(raw)) {
    if (!method.options.includes(k)) {
      throw new KeelError("KEEL_E_USAGE", `${FLAG_OF[k] ?? k} does not apply to ${method.key}`, {
        hint: "docs/aggregate.md lists each method's options",
      });
    }
  }
  try {
    return method.validate(raw);
  } catch (e) {
    if (!(e instanceof KeelError)) throw e;
    const field = e.where?.field ?? "";
    throw new KeelError("KEEL_E_USAGE", `${FLAG_OF[field] ?? field}: ${e.detail}`, {
      hint: "docs/aggregate.md lists each method's options",
    });
  }
}

/**
 * Refuses an --out that names an input (the labels file, the store, the gold file): the atomic
 * write would replace it with the result, silently and after the work was done.
 */
function checkNotAnInput(o: AggregateFlags): void {
  if (o.out === undefined || o.out === "-") return;
  resolveOutputTarget(o.out, sourceFiles(o, "labels"));
}

export async function runAggregate(o: AggregateFlags): Promise<void> {
  const key = o.method ?? (o.format === "crowd-kit-pairwise" ? "bradley-terry" : "dawid-skene");
  const method = getAggregationMethod(key);
  const raw: Record<string, unknown> = {};
  if (o.maxIter !== undefined) raw.maxIter = o.maxIter;
  if (o.tol !== undefined) raw.tol = o.tol;
  if (o.prior !== undefined) raw.prior = o.prior;
  if (o.seed !== undefined) raw.seed = o.seed;
  const options = validateFlags(method, raw);
  checkOutputFiles(o.out);
  checkNotAnInput(o);
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
  if (o.gold && method.kind === "categorical" && !method.usesGold) {
    throw new KeelError("KEEL_E_USAGE", `--gold does not apply to ${key}`, {
      hint: `the methods that use gold answers: ${AGGREGATION_METHODS.filter(
        (m) => m.kind === "categorical" && m.usesGold,
      )
        .map((m) => m.key)
        .join(", ")}`,
    });
  }
  let json: Record<string, unknown>;
  let summary: Record<string, unknown>;
  if (o.format === "crowd-kit-pairwise") {
    const enc = new PairwiseEncoder();
    for await (const { record } of readPairwiseLabels(inputFile(o)))
      enc.addLabelled(record.worker, record.left, record.right, record.label);
    const data = enc.finish();
    requireLabels(data.left.length, o);
    if (method.kind !== "pairwise") throw new Error("unreachable");
    sayFitting(o, key, data.left.length);
    const r = method.fit(data, options);
    json = pairwiseToJson(r);
    summary = { judgments: data.left.length, items: data.nItems, workers: data.nWorkers };
  } else if (o.format === "crowd-kit") {
    const data = await readCategorical(inputFile(o), o.gold);
    requireLabels(data.task.length, o);
    if (method.kind !== "categorical") throw new Error("unreachable");
    sayFitting(o, key, data.task.length);
    json = categoricalToJson(method.fit(data, options));
    summary = {
      judgments: data.task.length,
      tasks: data.nTasks,
      workers: data.nWorkers,
      classes: data.nClasses,
    };
  } else {
    const data = await readJudgmentData(o, o.gold);
    requireLabels(data.categorical.task.length, o);
    sayFitting(o, key, data.categorical.task.length);
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
  // Streamed: millions of tasks' probabilities would pass V8's string limit as one string.
  if (o.out) await writeJsonFile(o.out, json, { indent: 2 });
  // With --out - the result is standard output's only content; the summary goes to stderr.
  const say = summaryPrinter(o.out);
  if (!o.out) printJson(json);
  else if (o.json) say(JSON.stringify(summary, null, 2));
  else {
    say(
      Object.entries(summary)
        .filter(([, v]) => v !== null)
        .map(
          ([k, v]) => `${k}: ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : v}`,
        )
        .join("  "),
    );
  }
}

const fmt = (x: number | null) => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(3));

export async function runAgreement(o: AgreementFlags): Promise<void> {
  const read =
    o.format === "crowd-kit"
      ? await readCategorical(inputFile(o))
      : (await readJudgmentData(o)).categorical;
  const { data, repeats } = firstLabels(read);
  requireLabels(data.task.length, o);
  const alpha = krippendorffAlpha(data);
  const fleiss = fleissKappa(data);
  const loo = looConsensusAgreement(data);
  // Too many rater pairs (one task labelled by thousands) is no reason to withhold the rest.
  let pairs: CohenPair[] | undefined;
  let pairsSkipped: string | undefined;
  try {
    pairs = cohenKappaPairs(data);
  } catch (e) {
    if (!(e instanceof KeelError) || e.code !== "KEEL_E_UNSUPPORTED") throw e;
    pairsSkipped = e.message;
  }
  const raters = data.workers.map((w, i) => ({
    rater_id: w,
    loo_agreement: Number.isFinite(loo.agreement[i]!) ? loo.agreement[i]! : null,
    labels: loo.n[i]!,
  }));
  if (o.json) {
    printJson({
      judgments: data.task.length,
      repeated_labels: repeats,
      tasks: data.nTasks,
      raters: data.nWorkers,
      krippendorff_alpha: alpha.alpha,
      fleiss_kappa: fleiss.kappa,
      per_rater: raters,
      cohen_kappa:
        pairs?.map((p) => ({
          rater_a: data.workers[p.a],
          rater_b: data.workers[p.b],
          common: p.common,
          kappa: p.kappa,
        })) ?? null,
    });
    return;
  }
  printLine(
    `${count(data.task.length, "label")} by ${count(data.nWorkers, "rater")} on ${count(data.nTasks, "task")}, ${count(data.nClasses, "class", "classes")}`,
  );
  if (repeats > 0)
    printLine(
      `${count(repeats, "repeated label")} of a rater on a task left out (each rater's first label of a task counts)`,
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
  if (pairs === undefined) {
    printLine();
    printLine(`${pairsSkipped}: skipped`);
    return;
  }
  if (pairs.length === 0) return;
  const enough = pairs.filter((p) => p.common >= o.minCommon);
  printLine();
  if (enough.length === 0) {
    // A loop, not Math.max(...): a panel of thousands of raters has millions of pairs.
    const most = pairs.reduce((m, p) => Math.max(m, p.common), 0);
    printLine(
      `Cohen's kappa per rater pair: no pair shares ${o.minCommon} tasks (at most ${most}); --min-common lowers the bar`,
    );
    return;
  }
  const lowPairs = enough.sort((a, b) => (a.kappa ?? 2) - (b.kappa ?? 2)).slice(0, o.top);
  printLine(
    `Cohen's kappa per rater pair with ≥ ${o.minCommon} tasks in common (${lowPairs.length} of ${enough.length}; ${pairs.length} pairs in all; lowest first):`,
  );
  printLine(
    formatTable(
      ["rater a", "rater b", "common", "kappa"],
      lowPairs.map((p) => [data.workers[p.a], data.workers[p.b], p.common, fmt(p.kappa)]),
    ),
  );
}
