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
 */
import { z } from "zod";
import { compareText } from "../../core/canonical.js";
import { KeelError, type Where } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { redactUrl } from "../../core/redact.js";
import { parseRecord } from "../../core/schemas.js";
import { contentToText } from "../../core/types.js";
import { readTextFile } from "../../io/files.js";
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
import { isJudgmentsText, JudgmentRowSchema, PairRowSchema, readJsonl } from "./pair-files.js";
import { sourceFiles } from "./source-files.js";
import { withStore } from "./with-store.js";

/**
 * A response to score: `response`, or `completion` as `keel model generate --out` and TRL's
 * prompt-completion rows name it (what one command writes, the next reads as it is).
 */
const ResponseRowSchema = z
  .object({
    prompt: z.string(),
    response: z.string().optional(),
    completion: z.string().optional(),
  })
  .refine((r) => (r.response === undefined) !== (r.completion === undefined), {
    message: "needs exactly one of response and completion (the text to score)",
    path: ["response"],
  })
  .transform((r) => ({ prompt: r.prompt, response: (r.response ?? r.completion)! }));

const WHAT_SCORE_READS =
  "expected preference pairs {prompt, chosen, rejected}, keel judgments {comparison_id, prompt, response_a, response_b, choice} or responses {prompt, response} (or {prompt, completion}, as keel model generate --out writes)";

/**
 * Which rows a file holds, by its first row's keys (a text that merely quotes "chosen" is not a
 * pair). A first row that is not JSON is judged by its text; its reader then reports the line.
 */
function rowKind(first: string): "pairs" | "responses" | undefined {
  let keys: (k: string) => boolean;
  try {
    const row: unknown = JSON.parse(first);
    if (typeof row !== "object" || row === null) return undefined;
    keys = (k) => Object.hasOwn(row, k);
  } catch {
    keys = (k) => first.includes(`"${k}"`);
  }
  if (keys("chosen") || keys("rejected")) return "pairs";
  if (keys("response") || keys("completion")) return "responses";
  return undefined;
}

/** What is scored: pairs (two texts each) or single responses, with their input lines. */
interface Inputs {
  readonly kind: "pairs" | "judgments" | "responses";
  readonly prompts: string[];
  /** Pairs: chosen, rejected, chosen, rejected, …; responses: one per prompt. */
  readonly texts: string[];
  readonly lines: number[];
  readonly ids?: string[];
  /** Judgments: each pair's rater. */
  readonly raters?: string[];
  /** Judgments left out because they are ties. */
  readonly ties: number;
}

/** A judgment as scored: texts flattened to strings, `line` its file line or ledger seq. */
interface JudgmentRow {
  readonly line: number;
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly prompt: string;
  readonly response_a: string;
  readonly response_b: string;
  readonly choice: "a" | "b" | "tie";
}

/** Judgments as chosen/rejected pairs (ties counted and left out), with their raters. */
function judgmentInputs(rows: Iterable<JudgmentRow>): Inputs {
  const out = {
    kind: "judgments" as const,
    prompts: [] as string[],
    texts: [] as string[],
    lines: [] as number[],
    ids: [] as string[],
    raters: [] as string[],
    ties: 0,
  };
  for (const j of rows) {
    if (j.choice === "tie") {
      out.ties++;
      continue;
    }
    const [c, r] = j.choice === "a" ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
    out.prompts.push(j.prompt, j.prompt);
    out.texts.push(c, r);
    out.lines.push(j.line);
    out.ids.push(j.comparison_id);
    out.raters.push(j.rater_id);
  }
  return out;
}

/**
 * The judgments of a store, in ledger order (`line` is the ledger sequence number). Each
 * comparison's texts are kept once, however many raters judged it, and each prompt once: the
 * store hands every judgment its own copies (reading a 1M-judgment store: 601 MB of heap with
 * them, 249 MB kept once).
 */
async function storeInputs(db: string): Promise<Inputs> {
  const rows: JudgmentRow[] = [];
  const texts = new Map<string, { prompt: string; a: string; b: string }>();
  const prompts = new Map<string, string>();
  await withStore(db, async (store) => {
    for await (const j of store.judgments()) {
      let t = texts.get(j.comparison_id);
      if (t === undefined) {
        const p = contentToText(j.prompt);
        let prompt = prompts.get(p);
        if (prompt === undefined) {
          prompt = p;
          prompts.set(p, p);
        }
        t = { prompt, a: contentToText(j.response_a), b: contentToText(j.response_b) };
        texts.set(j.comparison_id, t);
      }
      rows.push({
        line: j.seq,
        comparison_id: j.comparison_id,
        rater_id: j.rater_id,
        prompt: t.prompt,
        response_a: t.a,
        response_b: t.b,
        choice: j.choice,
      });
    }
  });
  if (rows.length === 0)
    throw new KeelError("KEEL_E_NOT_FOUND", "the store holds no judgments", {
      where: { file: redactUrl(db) },
    });
  return judgmentInputs(rows);
}

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

function readInputs(file: string): Inputs {
  const text = readTextFile(file);
  const lines: number[] = [];
  const prompts: string[] = [];
  const texts: string[] = [];
  const first = text.split("\n").find((l) => l.trim());
  if (first === undefined)
    throw new KeelError("KEEL_E_INVALID_RECORD", "no rows in the file", { where: { file } });
  // The row's line number, carried through the reader.
  const lined =
    <T>(schema: z.ZodType<T>) =>
    (v: unknown, where: Where) => ({ row: parseRecord(schema, v, where), line: where.line ?? 0 });
  if (isJudgmentsText(text)) {
    try {
      const rows = readJsonl(file, lined(JudgmentRowSchema.extend({ rater_id: z.string() })), text);
      return judgmentInputs(rows.map(({ row, line }) => ({ ...row, line })));
    } catch (e) {
      // keel generate's candidates look like judgments until the choice a rater has not made yet
      if (e instanceof KeelError && e.where?.field === "choice" && !/"choice"/.test(first))
        throw e.withHint(
          "these look like candidate pairs (keel generate --out), which no rater has judged yet: collect judgments first (keel project create --items), or score each response as {prompt, response} rows",
        );
      throw e;
    }
  }
  const kind = rowKind(first);
  if (kind === "pairs") {
    for (const { row: p, line } of readJsonl(file, lined(PairRowSchema), text)) {
      prompts.push(p.prompt, p.prompt);
      texts.push(p.chosen, p.rejected);
      lines.push(line);
    }
    return { kind: "pairs", prompts, texts, lines, ties: 0 };
  }
  if (kind === "responses") {
    for (const { row: r, line } of readJsonl(file, lined(ResponseRowSchema), text)) {
      prompts.push(r.prompt);
      texts.push(r.response);
      lines.push(line);
    }
    return { kind: "responses", prompts, texts, lines, ties: 0 };
  }
  throw new KeelError(
    "KEEL_E_INVALID_RECORD",
    `not a file keel model score reads: ${WHAT_SCORE_READS}`,
    { where: { file, line: text.split("\n").indexOf(first) + 1 } },
  );
}

/**
 * The distinct (prompt, response) pairs of the inputs: `unique` holds the index of each one's
 * first occurrence, `slot[i]` the place of input i's pair in `unique`. Keys are the inputs' own
 * strings, so the maps add no copies of the texts.
 */
export function distinctResponses(
  prompts: readonly string[],
  texts: readonly string[],
): { unique: number[]; slot: Int32Array } {
  const byPrompt = new Map<string, Map<string, number>>();
  const unique: number[] = [];
  const slot = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    let byText = byPrompt.get(prompts[i]!);
    if (byText === undefined) {
      byText = new Map();
      byPrompt.set(prompts[i]!, byText);
    }
    let k = byText.get(texts[i]!);
    if (k === undefined) {
      k = unique.length;
      unique.push(i);
      byText.set(texts[i]!, k);
    }
    slot[i] = k;
  }
  return { unique, slot };
}

/** Raters with fewer judgments are left out of the printed table (their share is noise). */
const MIN_RATER_PAIRS = 5;

const round = (x: number) => Math.round(x * 1e6) / 1e6;
/** Four decimals, without the "-0.0000" of a tiny negative number. */
const fixed4 = (x: number) => (Math.abs(x) < 5e-5 ? "0.0000" : x.toFixed(4));

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
  const n = inputs.texts.length;
  // Each distinct (prompt, response) is scored once: a comparison judged by k raters, or a
  // response that recurs, costs one forward pass, not k.
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
  if (!score.every(Number.isFinite))
    throw new KeelError("KEEL_E_NUMERIC", `${o.model} produced a non-finite score`);
  const ensemble = scorer.members.length > 1;
  const kind = scorer.file.kind;
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
  if (o.out) await writeJsonlFile(o.out, rows, { protect });
  const summary: Record<string, unknown> = {
    model: o.model,
    kind,
    members: scorer.members.length,
    scoring: scorer.file.scoring,
    input: inputs.kind,
    scored: inputs.lines.length,
    distinct_responses: u,
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
  // With --out -, standard output carries the rows: the summary goes to standard error.
  const say = summaryPrinter(o.out);
  if (o.json) {
    if (o.out) say(JSON.stringify(summary, null, 2));
    else printJson({ ...summary, rows });
    return;
  }
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
  if (o.out) say(`wrote ${rows.length} rows to ${o.out}`);
  else if (!o.quiet) say("(--out FILE writes each row's scores)");
}
