/**
 * `keel model score`'s action: a reward (or cost) model, or an ensemble, scores a file.
 *
 * - preference pairs (TRL `prompt`, `chosen`, `rejected`) or keel judgments (the chosen side
 *   is the rater's choice; ties are counted and left out): each pair's two scores and
 *   P(chosen ≻ rejected) = σ(r_c − r_r), and the held-out metrics the trainer reports
 *   (accuracy, margin, ECE, NLL; for a cost model the safer response should cost less);
 * - responses (`prompt`, `response`): each response's score.
 *
 * Judgments (from a file or a store, `--db`) also give each rater's agreement with the model:
 * the share of their judgments the model orders the same way. Against a model trained on
 * trusted data, the raters who agree least are worth a look (a signal beside the audit's).
 *
 * Scores are what the model's directory says to compute: an ensemble's scoring (mean, worst,
 * uncertainty) unless `--scoring` overrides it, with each member's spread as `std`.
 * Reading the inputs is in model-score-inputs.ts.
 */
import { compareText } from "../../core/canonical.js";
import { KeelError } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { redactUrl } from "../../core/redact.js";
import { writeJsonlFile } from "../../io/jsonl.js";
import { resolveOutputTarget } from "../../io/output-target.js";
import { RewardScorer } from "../../train/rm/ensemble.js";
import { pairEvalMetrics } from "../../train/rm/metrics.js";
import type { EnsembleScoring } from "../../train/rm/rmConfig.js";
import type { ScoreFlags } from "../commands/model.js";
import { dbTarget } from "../common.js";
import { formatTable, printJson, summaryPrinter } from "../output.js";
import { Progress } from "../progress.js";
import { modelFiles } from "./model-files.js";
import { distinctResponses, type Inputs, readInputs, storeInputs } from "./model-score-inputs.js";
import { sourceFiles } from "./source-files.js";

export { distinctResponses } from "./model-score-inputs.js";

/** Each rater's agreement with the model over their judgments, least agreeing first. */
function raterAgreement(inputs: Inputs, modelAgrees: (i: number) => boolean) {
  const per = new Map<string, { pairs: number; agree: number }>();
  inputs.raters!.forEach((rater, i) => {
    const r = per.get(rater) ?? { pairs: 0, agree: 0 };
    r.pairs++;
    if (modelAgrees(i)) r.agree++;
    per.set(rater, r);
  });
  return [...per]
    .map(([rater_id, r]) => ({ rater_id, pairs: r.pairs, agreement: r.agree / r.pairs }))
    .sort(
      (a, b) =>
        a.agreement - b.agreement || b.pairs - a.pairs || compareText(a.rater_id, b.rater_id),
    );
}

/** Raters with fewer judgments are left out of the printed table (their share is noise). */
const MIN_RATER_PAIRS = 5;

const round = (x: number) => Math.round(x * 1e6) / 1e6;
/** Four decimals, without the "-0.0000" of a tiny negative number. */
const fixed4 = (x: number) => (Math.abs(x) < 5e-5 ? "0.0000" : x.toFixed(4));

/**
 * Every input's score and, for an ensemble, its members' spread. Each distinct (prompt,
 * response) is scored once: a comparison judged by k raters, or a response that recurs, costs
 * one forward pass, not k. The scorer is disposed of when done.
 */
async function scoreAll(
  scorer: RewardScorer,
  inputs: Inputs,
  o: ScoreFlags,
): Promise<{ score: Float64Array; std: Float64Array; distinct: number }> {
  const n = inputs.texts.length;
  const { unique, slot } = distinctResponses(inputs.prompts, inputs.texts);
  const u = unique.length;
  const uScore = new Float64Array(u);
  const uStd = new Float64Array(u);
  const progress = new Progress({
    label: "scoring",
    unit: "responses",
    total: u,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  try {
    for (let i = 0; i < u; i += o.batchSize) {
      const end = Math.min(u, i + o.batchSize);
      const batch = unique.slice(i, end);
      const s = await scorer.score(
        batch.map((k) => inputs.prompts[k]!),
        batch.map((k) => inputs.texts[k]!),
      );
      uScore.set(s.score, i);
      uStd.set(s.std, i);
      progress.update(end);
    }
  } finally {
    progress.finish();
    await scorer.dispose();
  }
  const score = new Float64Array(n);
  const std = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    score[i] = uScore[slot[i]!]!;
    std[i] = uStd[slot[i]!]!;
  }
  return { score, std, distinct: u };
}

/** One output row per input: a response's score, or a pair's two scores and P(chosen ≻ rejected). */
function scoreRows(
  inputs: Inputs,
  score: Float64Array,
  std: Float64Array,
  ensemble: boolean,
  kind: RewardScorer["file"]["kind"],
): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  if (inputs.kind === "responses") {
    inputs.lines.forEach((line, i) => {
      rows.push({ line, score: round(score[i]!), ...(ensemble ? { std: round(std[i]!) } : {}) });
    });
  } else {
    inputs.lines.forEach((line, i) => {
      const c = score[2 * i]!;
      const r = score[2 * i + 1]!;
      const d = kind === "cost" ? r - c : c - r;
      rows.push({
        line,
        ...(inputs.ids ? { comparison_id: inputs.ids[i] } : {}),
        ...(inputs.raters ? { rater_id: inputs.raters[i] } : {}),
        chosen: round(c),
        rejected: round(r),
        p_chosen: round(1 / (1 + Math.exp(-d))),
        ...(ensemble
          ? { chosen_std: round(std[2 * i]!), rejected_std: round(std[2 * i + 1]!) }
          : {}),
      });
    });
  }
  return rows;
}

/** What was scored with what, and the scores' metrics (pairs: the trainer's, and per rater). */
function summarize(
  o: ScoreFlags,
  scorer: RewardScorer,
  inputs: Inputs,
  score: Float64Array,
  distinct: number,
) {
  const n = score.length;
  const kind = scorer.file.kind;
  const summary: Record<string, unknown> = {
    model: o.model,
    kind,
    members: scorer.members.length,
    scoring: scorer.file.scoring,
    input: inputs.kind,
    scored: inputs.lines.length,
    distinct_responses: distinct,
    ...(inputs.kind === "judgments" ? { ties_skipped: inputs.ties } : {}),
    out: o.out ?? null,
  };
  let perRater: ReturnType<typeof raterAgreement> | undefined;
  if (inputs.kind !== "responses") {
    const chosen = score.filter((_, i) => i % 2 === 0);
    const rejected = score.filter((_, i) => i % 2 === 1);
    const sign = kind === "cost" ? -1 : 1;
    summary.metrics = pairEvalMetrics(chosen, rejected, { sign });
    if (inputs.raters) {
      perRater = raterAgreement(inputs, (i) => sign * (chosen[i]! - rejected[i]!) > 0);
      summary.per_rater = perRater;
    }
  } else {
    // Two passes: Σx²/n − mean² loses every digit of the spread of scores far from 0.
    let s = 0;
    for (const x of score) s += x;
    const mean = s / n;
    let ss = 0;
    for (const x of score) ss += (x - mean) ** 2;
    summary.metrics = { score_mean: mean, score_std: Math.sqrt(ss / n) };
  }
  return { summary, perRater };
}

/** The summary as text: what was scored, the metrics, and the raters least in agreement. */
function printSummary(
  o: ScoreFlags,
  scorer: RewardScorer,
  inputs: Inputs,
  source: string,
  { summary, perRater }: ReturnType<typeof summarize>,
  say: ReturnType<typeof summaryPrinter>,
): void {
  const ensemble = scorer.members.length > 1;
  const kind = scorer.file.kind;
  const what =
    inputs.kind === "responses"
      ? `${inputs.lines.length} responses`
      : `${inputs.lines.length} pairs${inputs.kind === "judgments" ? ` (${inputs.ties} tied judgments left out)` : ""}`;
  say(
    `${o.model}: ${kind} model${ensemble ? ` (ensemble of ${scorer.members.length}, ${scorer.file.scoring})` : ""} scored ${what} from ${source}`,
  );
  const m = summary.metrics as Record<string, number>;
  say(
    formatTable(
      ["metric", "value"],
      Object.entries(m).map(([k, v]) => [k, Number.isInteger(v) ? v : fixed4(v)]),
    ),
  );
  if (perRater && perRater.length > 1) {
    const shown = perRater.filter((r) => r.pairs >= MIN_RATER_PAIRS).slice(0, 10);
    say();
    if (shown.length === 0)
      say(`no rater has ${MIN_RATER_PAIRS} or more pairs (--json lists each rater's agreement)`);
    else
      say(
        `raters least in agreement with the model (${shown.length} of ${perRater.length}; at least ${MIN_RATER_PAIRS} pairs; --json lists all):`,
      );
    if (shown.length > 0)
      say(
        formatTable(
          ["rater", "pairs", "agreement"],
          // a judgments file's rater ids are anyone's text
          shown.map((r) => [printable(r.rater_id), r.pairs, fixed4(r.agreement)]),
        ),
      );
  }
}

export async function runScore(flags: ScoreFlags): Promise<void> {
  // The store of KEEL_DB, as every command's --db, when no input is named; checked as --db is.
  const env = process.env.KEEL_DB;
  const o =
    flags.in === undefined && flags.db === undefined && env !== undefined
      ? { ...flags, db: dbTarget(env) }
      : flags;
  if ((o.in === undefined) === (o.db === undefined))
    throw new KeelError(
      "KEEL_E_USAGE",
      "give exactly one of --in FILE and --db STORE (or set KEEL_DB)",
    );
  const source = o.in ?? redactUrl(o.db!);
  // Before the work: --out must not replace what is read (the input file, the store, the model).
  const protect = [...sourceFiles(o, "file"), ...modelFiles(o.model)];
  if (o.out !== undefined && o.out !== "-") resolveOutputTarget(o.out, protect);
  const inputs = o.in ? readInputs(o.in) : await storeInputs(o.db!);
  if (inputs.texts.length === 0)
    throw new KeelError("KEEL_E_INVALID_RECORD", "nothing to score: every judgment is a tie", {
      where: { file: source },
    });
  const scorer = RewardScorer.load(o.model, {
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.scoring ? { scoring: o.scoring as EnsembleScoring } : {}),
    ...(o.lambda !== undefined ? { lambda: o.lambda } : {}),
  });
  const { score, std, distinct } = await scoreAll(scorer, inputs, o);
  if (!score.every(Number.isFinite))
    throw new KeelError("KEEL_E_NUMERIC", `${o.model} produced a non-finite score`);
  const rows = scoreRows(inputs, score, std, scorer.members.length > 1, scorer.file.kind);
  if (o.out) await writeJsonlFile(o.out, rows, { protect });
  const summarized = summarize(o, scorer, inputs, score, distinct);
  // With --out -, standard output carries the rows: the summary goes to standard error.
  const say = summaryPrinter(o.out);
  if (o.json) {
    if (o.out) say(JSON.stringify(summarized.summary, null, 2));
    else printJson({ ...summarized.summary, rows });
    return;
  }
  printSummary(o, scorer, inputs, source, summarized, say);
  if (o.out) say(`wrote ${rows.length} rows to ${o.out}`);
  else if (!o.quiet) say("(--out FILE writes each row's scores)");
}
