import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { percent } from "../../core/percent.js";
import { TextSink } from "../../io/files.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../../io/jsonl.js";
import { type ProtectedFile, resolveOutputTarget } from "../../io/output-target.js";
import { loadYamlConfig } from "../../io/yaml.js";
import { generateWorldFiles, WORLD_FILES } from "../../pipeline/world-files.js";
import {
  DEFAULT_TRIGGER,
  MAX_COMPARISONS,
  type OracleScore,
  PromptRecordSchema,
  parseWorldConfig,
  ResponseRecordSchema,
  recognizePrompt,
  type ScoredRow,
  type ScoreSummary,
  score,
  summarizeScores,
  type WorldConfig,
  type WorldPrompt,
} from "../../world/index.js";
import type { ScoreFlags, WorldGenerateFlags } from "../commands/world.js";
import { formatTable, printJson, printLine, summaryPrinter } from "../output.js";
import { fmtCount, Progress } from "../progress.js";
import { checkOutputFiles } from "./out-paths.js";

/** Reads and validates a world config file, naming file, line and field on errors. */
export async function loadWorldConfig(file: string): Promise<WorldConfig> {
  const { raw, source } = await loadYamlConfig(file);
  return parseWorldConfig(raw, source);
}

/**
 * `--seed`: an integer when it is one that a number holds exactly, else the string itself (a
 * string seed is hashed, so long digit strings stay distinct instead of rounding into one).
 */
function parseSeed(s: string): string | number {
  // Blank as keel model's --seed: `--seed "$SEED"` with SEED unset or " " is no seed at all.
  if (s.trim() === "")
    throw new KeelError(
      "KEEL_E_USAGE",
      `--seed must not be empty or blank, got ${JSON.stringify(s)}`,
    );
  if (!/^-?\d+$/.test(s)) return s;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

/** Refuses an --out whose world files would replace the config being read. */
function refuseConfigInOut(config: string, out: string): void {
  const protect = [{ path: config, what: "the world config (--config)" }];
  for (const f of WORLD_FILES) resolveOutputTarget(join(out, f), protect);
}

export async function runGenerate(o: WorldGenerateFlags): Promise<void> {
  refuseConfigInOut(o.config, o.out);
  let config = await loadWorldConfig(o.config);
  if (o.comparisons !== undefined && o.comparisons > MAX_COMPARISONS)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--comparisons must be at most ${MAX_COMPARISONS}, as comparisons.count, got ${o.comparisons}`,
    );
  if (o.comparisons !== undefined)
    config = { ...config, comparisons: { ...config.comparisons, count: o.comparisons } };
  // Into the config, so that truth.json's resolved config regenerates this very world.
  if (o.seed !== undefined) config = { ...config, seed: parseSeed(o.seed) };
  const progress = new Progress({
    label: "world",
    unit: "comparisons",
    total: config.comparisons.count,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  const r = await generateWorldFiles(config, o.out, {
    onProgress: (n) => progress.update(n),
  });
  progress.finish();
  if (o.json) {
    printJson(r);
    return;
  }
  printLine(
    `${r.comparisons} comparisons, ${r.judgments} judgments by ${r.raters} raters over ${r.prompts} prompts (seed ${r.seed}) in ${r.seconds}s (${fmtCount(r.comparisons / Math.max(r.seconds, 1e-3))} comparisons/s)`,
  );
  printLine(
    formatTable(
      ["file", "records", "bytes"],
      Object.entries(r.files).map(([f, s]) => [join(r.out, f), s.records, s.bytes]),
    ),
  );
}

/** A world's prompts.jsonl (as keel world generate and keel run write it), with their truth. */
export async function readWorldPrompts(file: string): Promise<WorldPrompt[]> {
  return [...(await loadPrompts(file)).byId.values()];
}

async function loadPrompts(
  file: string,
): Promise<{ byId: Map<string, WorldPrompt>; byText: Map<string, WorldPrompt> }> {
  const byId = new Map<string, WorldPrompt>();
  const byText = new Map<string, WorldPrompt>();
  for await (const { record } of strictRecords(
    parseJsonlBatches(file, validateWith(PromptRecordSchema)),
  )) {
    byId.set(record.id, record);
    byText.set(record.content, record);
  }
  return { byId, byText };
}

/** The files `world score` reads, which its --out must not replace. */
function scoreInputs(o: ScoreFlags): ProtectedFile[] {
  return [
    ...(o.in !== "-" ? [{ path: o.in, what: "the responses being scored (--in)" }] : []),
    ...(o.prompts !== undefined
      ? [{ path: o.prompts, what: "the world's prompts (--prompts)" }]
      : []),
  ];
}

export async function runScore(o: ScoreFlags): Promise<void> {
  checkOutputFiles(o.out);
  // Before the work: the atomic write would replace an input with the scores, silently.
  if (o.out !== undefined && o.out !== "-") resolveOutputTarget(o.out, scoreInputs(o));
  const known = o.prompts !== undefined ? await loadPrompts(o.prompts) : undefined;
  const triggers = o.trigger.length > 0 ? o.trigger : [DEFAULT_TRIGGER];
  const rows: ScoredRow[] = [];
  let skipped = 0;
  const sink = o.out !== undefined ? new TextSink(o.out) : undefined;
  try {
    for await (const { record: r, line } of strictRecords(
      parseJsonlBatches(o.in, validateWith(ResponseRecordSchema)),
    )) {
      const where = { file: o.in, line };
      // A prompt_id is looked up in --prompts; without them a row that also carries the prompt
      // text (sft.jsonl does) is recognised from that text, as a row without prompt_id is.
      const byId = r.prompt_id !== undefined && known !== undefined;
      let prompt: WorldPrompt | undefined;
      if (byId) {
        prompt = known.byId.get(r.prompt_id!);
      } else if (r.prompt !== undefined) {
        prompt = known?.byText.get(r.prompt) ?? recognizePrompt(r.prompt, { triggers });
      } else {
        throw new KeelError(
          "KEEL_E_USAGE",
          "the row gives a prompt_id but no prompt text: pass --prompts prompts.jsonl",
          { where, hint: "--prompts takes the world's prompts.jsonl, which maps ids to prompts" },
        );
      }
      if (prompt === undefined) {
        if (o.skipUnknown) {
          skipped++;
          continue;
        }
        throw new KeelError("KEEL_E_NOT_FOUND", "the prompt is not a world prompt", {
          where: { ...where, field: byId ? "prompt_id" : "prompt" },
          hint: "pass --prompts with the world's prompts.jsonl, or --skip-unknown",
        });
      }
      const s: OracleScore = score(prompt, r.response ?? r.completion ?? "");
      rows.push({ score: s, triggered: prompt.triggered });
      if (sink)
        await sink.write(
          `${JSON.stringify({ ...(r.id !== undefined ? { id: r.id } : {}), triggered: prompt.triggered, ...s })}\n`,
        );
    }
    // As keel aggregate and keel audit: an empty file has nothing to score, and rates over no
    // rows would print as 0%. (Rows all skipped by --skip-unknown still report, with n = 0.)
    if (rows.length === 0 && skipped === 0)
      throw new KeelError("KEEL_E_INVALID_RECORD", "no rows to score in the file", {
        where: { file: o.in },
        hint: "the file is empty or has only blank lines",
      });
    await sink?.commit();
  } catch (e) {
    await sink?.abort();
    throw e;
  }
  const summary = summarizeScores(rows);
  const say = summaryPrinter(o.out);
  if (o.json) say(JSON.stringify({ ...summary, skipped }, null, 2));
  else printScoreSummary(summary, skipped, say);
}

function printScoreSummary(s: ScoreSummary, skipped: number, say: (line?: string) => void): void {
  const pct = percent;
  const rows: (readonly unknown[])[] = [];
  const add = (name: string, r: ScoreSummary["overall"] | null) => {
    if (r === null) return;
    rows.push([
      name,
      r.n,
      pct(r.correct),
      pct(r.helpful),
      pct(r.refusal),
      pct(r.harmful),
      pct(r.over_refusal),
      r.mean_words === null ? "-" : r.mean_words.toFixed(1),
      r.mean_quality === null ? "-" : r.mean_quality.toFixed(3),
    ]);
  };
  add("all", s.overall);
  for (const [f, r] of Object.entries(s.by_family)) add(f, r);
  add("harmful (clean)", s.harmful_clean);
  add("harmful (triggered)", s.harmful_triggered);
  say(
    formatTable(
      [
        "prompts",
        "n",
        "correct",
        "helpful",
        "refusal",
        "harmful",
        "over-refusal",
        "words",
        "quality",
      ],
      rows,
    ),
  );
  if (skipped > 0) say(`skipped ${skipped} rows whose prompt is not a world prompt`);
}
