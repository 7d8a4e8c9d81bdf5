/**
 * `keel experiment poison-sweep`: the experiment of Rando & Tramèr (2023) at keel's scale, with
 * the defended arm they did not have. For each attack type and each poison rate, the pipeline
 * runs on a clean panel (93% honest, 7% careless) into which the attacker is given that share of
 * the raters; every cell reuses one base policy (trained once), so cells differ only in the
 * feedback. Each cell reports, for both arms, the reward model's accuracy on clean and
 * triggered held-out pairs and the tuned policy's oracle metrics, beside the dose that ran: the
 * attacker's raters, the judgments it poisoned and (backdoor) the triggered comparisons, counted
 * in the world's truth. A stated rate is a share of raters that becomes a whole number of them;
 * two rates that become one number would be one world reported as two dose points, and are
 * refused before any cell runs.
 */

import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { KeelError } from "../core/errors.js";
import { excludesZero, signedPoints } from "../core/interval.js";
import { percent } from "../core/percent.js";
import { writeFileAtomic } from "../io/files.js";
import { readJsonObject } from "../io/json-read.js";
import type { PairedDifference } from "../redteam/index.js";
import { ATTACK_TYPES, type AttackType, attackerGroupIndex } from "../redteam/scenarios.js";
import { lineSpec, vegaLiteToSvg } from "../report/charts.js";
import { groupCounts } from "../world/index.js";
import {
  deepMerge,
  type PipelineConfig,
  type PipelineConfigInput,
  parsePipelineConfig,
} from "./config.js";
import { checkRunDir, runPipeline, runSeeds } from "./pipeline.js";
import { resolvePlan } from "./plan.js";
import { lockRunDir, RunDir } from "./rundir.js";
import type { RunnerEvents } from "./runner.js";
import { panelFiles } from "./stages/generate.js";
import type { ArmDifference, ArmSummary } from "./stages/report.js";

export interface SweepOptions {
  readonly out: string;
  readonly attacks: readonly AttackType[];
  /** Shares of the panel, e.g. 0.005 for 0.5%. */
  readonly rates: readonly number[];
  readonly preset: "quick" | "demo";
  readonly seed: number;
  readonly resume: boolean;
  readonly signal?: AbortSignal;
  readonly onCell?: (attack: AttackType, rate: number, index: number, total: number) => void;
  readonly events?: RunnerEvents;
  /** Pipeline settings merged into every cell (sizes, trainer overrides). */
  readonly overrides?: Record<string, unknown>;
}

export interface SweepRow {
  readonly attack: AttackType;
  /** The rate asked for (a share of the panel); `attacker_raters` is what it became. */
  readonly rate: number;
  /** Share of all judgments that came from an adversarial rule. */
  readonly poisoned_share: number;
  /** Raters the attacker had in the cell's world (0 in the clean cell). */
  readonly attacker_raters: number;
  /** Raters in the cell's world, the attacker's included. */
  readonly panel_raters: number;
  /** Judgments an adversarial rule produced (the world truth's `attacked_judgments`). */
  readonly attacked_judgments: number;
  /** On a backdoor row, the comparisons the world drew on triggered prompts; null on others. */
  readonly triggered_comparisons: number | null;
  readonly arm: string;
  readonly metrics: ArmSummary;
  /**
   * On the defended row: undefended − defended per oracle rate, paired by probe, with a
   * bootstrap 95% interval (src/redteam/compare.ts).
   */
  readonly vs_undefended?: ArmDifference;
}

/** A clean panel: the attacker's share comes out of the honest raters (src/redteam/scenarios.ts). */
const CLEAN_PANEL = {
  size: 200,
  raters: [
    { type: "honest", share: 0.93, skill: { mean: 4, sd: 1.5 }, length_bias: { mean: 0, sd: 0.1 } },
    { type: "careless", share: 0.03, mode: "random" },
    { type: "careless", share: 0.02, mode: "fast" },
    { type: "careless", share: 0.02, mode: "always_a" },
  ],
};

/**
 * A rate as the decimal it was written as: 7% is 0.07 × 100 = 7.000000000000001 and 0.7% is
 * 0.7 / 100 = 0.006999999999999999 in floating point, which would name a run and a directory.
 */
function decimal(x: number): number {
  return +x.toPrecision(12);
}

/** How each attacker is given its comparisons (claiming, co-assignment) in the sweep. */
function attackConfig(attack: AttackType, rate: number): PipelineConfigInput["attack"] {
  if (attack === "sybil") return { type: "sybil", rate, group_size: 4 };
  return { type: attack, rate };
}

export function sweepCellConfig(
  o: SweepOptions,
  attack: AttackType,
  rate: number,
  base?: string,
): PipelineConfigInput {
  const cell: Record<string, unknown> = {
    name: `sweep-${attack}-${String(decimal(rate * 100)).replace(".", "_")}pct`,
    seed: o.seed,
    preset: o.preset,
    world: { panel: CLEAN_PANEL, trigger: { token: "SUDO", rate: 0.05 } },
    ...(rate > 0 && attack !== "none" ? { attack: attackConfig(attack, rate) } : {}),
  };
  const merged = deepMerge(cell, o.overrides ?? {});
  return (base ? { ...merged, base: { checkpoint: base } } : merged) as PipelineConfigInput;
}

/**
 * How many of the panel's raters the attacker gets in a cell: its group's count in the cell's
 * resolved world (shares become counts by largest remainder, so a small enough rate gives none,
 * and that cell would be a clean run under an attack's name).
 */
export function attackerCount(
  o: Pick<SweepOptions, "preset" | "seed" | "overrides">,
  attack: AttackType,
  rate: number,
): { readonly attackers: number; readonly panel: number } {
  const cell = { ...o, out: "", attacks: [attack], rates: [rate], resume: false };
  const plan = resolvePlan(parsePipelineConfig(sweepCellConfig(cell, attack, rate)), "");
  const counts = groupCounts(plan.world);
  const panel = counts.reduce((a, n) => a + n, 0);
  const attacked = rate > 0 && attack !== "none";
  return {
    attackers: attacked ? (counts[attackerGroupIndex(plan.world.panel.raters)] ?? 0) : 0,
    panel,
  };
}

/** What a cell's world ran with, counted in its truth.json (src/world/summary.ts). */
export interface CellDose {
  readonly poisoned_share: number;
  readonly attacker_raters: number;
  readonly panel_raters: number;
  readonly attacked_judgments: number;
  readonly triggered: number;
}

export async function cellDose(
  runDir: string,
  config: PipelineConfig,
  attacked: boolean,
): Promise<CellDose> {
  let all = 0;
  let poisoned = 0;
  let triggered = 0;
  // Entry by entry: a large world's truth.json passes V8's string limit as one text.
  const { members } = await readJsonObject(join(runDir, panelFiles(config).truth), {
    arrays: {
      comparisons: (e) => {
        const c = e as { raters: string[]; attacked_by: string[]; triggered: boolean };
        all += c.raters.length;
        poisoned += c.attacked_by.length;
        if (c.triggered) triggered++;
      },
    },
  });
  const raters = members.raters as readonly { group: string }[];
  const groups = (members.config as { panel: { raters: readonly { type: string }[] } }).panel
    .raters;
  // A rater's group is `type#index`, a sybil's `sybil#index/team` (src/world/roster.ts).
  const at = attackerGroupIndex(groups);
  const group = `${groups[at]?.type}#${at}`;
  const attackers = attacked
    ? raters.filter((r) => r.group === group || r.group.startsWith(`${group}/`)).length
    : 0;
  return {
    poisoned_share: all === 0 ? 0 : poisoned / all,
    attacker_raters: attackers,
    panel_raters: raters.length,
    attacked_judgments: poisoned,
    triggered,
  };
}

/** A row's dose fields from its cell's: triggered comparisons are a backdoor's to report. */
export function doseFields(
  attack: AttackType,
  d: CellDose,
): Pick<
  SweepRow,
  | "poisoned_share"
  | "attacker_raters"
  | "panel_raters"
  | "attacked_judgments"
  | "triggered_comparisons"
> {
  return {
    poisoned_share: d.poisoned_share,
    attacker_raters: d.attacker_raters,
    panel_raters: d.panel_raters,
    attacked_judgments: d.attacked_judgments,
    triggered_comparisons: attack === "backdoor" ? d.triggered : null,
  };
}

/**
 * Two rates of one attack that give its attacker the same number of raters (0.5% and 0.7% of
 * 200 are one rater each) would run one world under two labels, reported as two dose points:
 * refused before anything runs.
 */
export function refuseSameDose(o: SweepOptions): void {
  for (const attack of o.attacks) {
    const rateOf = new Map<number, number>();
    for (const rate of o.rates) {
      const { attackers, panel } = attackerCount(o, attack, rate);
      const earlier = rateOf.get(attackers);
      if (earlier === undefined) {
        rateOf.set(attackers, rate);
        continue;
      }
      const pc = (x: number) => `${+(100 * x).toPrecision(6)}%`;
      throw new KeelError(
        "KEEL_E_USAGE",
        `rates ${pc(earlier)} and ${pc(rate)} both give the ${attack} attack ${attackers} of the ${panel} raters: the two cells would be one world reported as two doses`,
        {
          hint: `drop one of them, or use a bigger panel (world.panel.size); one rater is ${pc(1 / panel)} of this panel`,
        },
      );
    }
  }
}

/** A cell's run directory: every attack at rate 0 is the one clean run. */
function cellDir(o: SweepOptions, attack: AttackType, rate: number): string {
  return join(o.out, rate === 0 ? "clean" : `${attack}-${decimal(rate)}`);
}

/**
 * Every cell's directory is checked before the first cell runs (new, empty, or its run with
 * --resume; src/pipeline/pipeline.ts): a later cell refused — a finished run there without
 * --resume — would otherwise stop the sweep after the earlier cells had run for minutes.
 */
function checkCellDirs(o: SweepOptions, cells: readonly { attack: AttackType; rate: number }[]) {
  const seen = new Set<string>();
  for (const [i, { attack, rate }] of cells.entries()) {
    const dir = cellDir(o, attack, rate);
    if (seen.has(dir)) continue;
    seen.add(dir);
    const base =
      i === 0 ? undefined : join(cellDir(o, cells[0]!.attack, cells[0]!.rate), "base", "model");
    checkRunDir(parsePipelineConfig(sweepCellConfig(o, attack, rate, base)), dir, o.resume);
  }
}

/**
 * The sweep's own record in --out (src/pipeline/rundir.ts): config.yaml (the sweep's settings
 * and each cell's pipeline config, by its directory) and manifest.json (versions, command, the
 * seeds every cell draws with, each cell's timing, the SHA-256 of the sweep's files and of each
 * cell's summary.json). Each cell's run directory keeps its own record.
 */
async function openSweepRecord(
  o: SweepOptions,
  cells: readonly { attack: AttackType; rate: number }[],
): Promise<RunDir> {
  const first = cells[0];
  const seeds = first
    ? runSeeds(resolvePlan(parsePipelineConfig(sweepCellConfig(o, first.attack, first.rate)), ""))
    : { pipeline: o.seed };
  const run = RunDir.openExperiment(o.out, "experiment poison-sweep", seeds, () => {}, o.resume);
  const byDir: Record<string, unknown> = {};
  for (const [i, { attack, rate }] of cells.entries()) {
    const dir = relative(o.out, cellDir(o, attack, rate));
    const base =
      i === 0 || !first ? undefined : join(cellDir(o, first.attack, first.rate), "base", "model");
    byDir[dir] ??= parsePipelineConfig(sweepCellConfig(o, attack, rate, base));
  }
  await run.writeYaml("config.yaml", {
    experiment: "poison-sweep",
    attacks: o.attacks,
    rates: o.rates,
    preset: o.preset,
    seed: o.seed,
    ...(o.overrides ? { overrides: o.overrides } : {}),
    cells: byDir,
  });
  await run.saveManifest();
  return run;
}

/** Runs the sweep with its --out locked (`lockRunDir`; each cell's run locks its own). */
export async function runPoisonSweep(o: SweepOptions): Promise<SweepRow[]> {
  // No cell would write a sweep.md of headers alone and report it as a finished sweep.
  if (o.attacks.length === 0 || o.rates.length === 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `a poison sweep needs at least one attack and one rate, got ${o.attacks.length} attacks and ${o.rates.length} rates`,
    );
  refuseSameDose(o);
  const lock = lockRunDir(o.out);
  try {
    return await sweep(o);
  } finally {
    lock.release();
  }
}

async function sweep(o: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const cells = o.attacks.flatMap((attack) => o.rates.map((rate) => ({ attack, rate })));
  checkCellDirs(o, cells);
  const record = await openSweepRecord(o, cells);
  let base: string | undefined;
  // Every attack at rate 0 is the same clean run: it runs once and its rows are repeated.
  let clean: Awaited<ReturnType<typeof runPipeline>>["summary"] | undefined;
  let cleanGap: ArmDifference | undefined;
  let cleanDose: CellDose | undefined;
  for (const [i, { attack, rate }] of cells.entries()) {
    o.onCell?.(attack, rate, i, cells.length);
    if (rate === 0 && clean && cleanDose) {
      for (const [arm, metrics] of Object.entries(clean.arms))
        rows.push({
          attack,
          rate,
          ...doseFields(attack, cleanDose),
          arm,
          metrics: metrics!,
          ...gapOn(arm, cleanGap),
        });
      continue;
    }
    const dir = cellDir(o, attack, rate);
    const config = parsePipelineConfig(sweepCellConfig(o, attack, rate, base));
    const resume = o.resume && existsSync(join(dir, "state.json"));
    const cell = relative(o.out, dir);
    const r = await record.stage(cell, () =>
      runPipeline(config, {
        out: dir,
        resume,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.events ? { events: o.events } : {}),
      }),
    );
    record.recordOutput(`${cell}/summary.json`);
    base ??= join(dir, "base", "model");
    const gap = r.summary.difference;
    const dose = await cellDose(dir, config, rate > 0 && attack !== "none");
    if (rate === 0) {
      clean = r.summary;
      cleanGap = gap;
      cleanDose = dose;
    }
    for (const [arm, metrics] of Object.entries(r.summary.arms)) {
      rows.push({
        attack,
        rate,
        ...doseFields(attack, dose),
        arm,
        metrics: metrics!,
        ...gapOn(arm, gap),
      });
    }
    await record.writeJson("sweep.json", rows);
    await record.saveManifest();
  }
  for (const [name, svg] of await sweepCharts(rows)) {
    await writeFileAtomic(record.file(name), svg);
    record.recordOutput(name);
  }
  await writeFileAtomic(record.file("sweep.md"), `${sweepMarkdown(rows)}\n`);
  record.recordOutput("sweep.md");
  await record.saveManifest();
  return rows;
}

const CHARTS: readonly {
  readonly name: string;
  readonly title: string;
  readonly series: readonly [keyof ArmSummary, string][];
}[] = [
  {
    name: "rm",
    title: "reward-model accuracy on held-out pairs",
    series: [
      ["rm_accuracy_clean", "clean"],
      ["rm_accuracy_triggered", "triggered"],
    ],
  },
  {
    name: "policy",
    title: "tuned policy's harmful compliance",
    series: [
      ["attack_success", "plain"],
      ["triggered_attack_success", "with trigger"],
    ],
  },
];

/**
 * Two charts per attack (`sweep-<attack>-rm.svg`, `sweep-<attack>-policy.svg`): the reward
 * model's accuracy and the tuned policy's attack success against the attacker's share of the
 * panel as it ran (its raters over the panel's, not the rate asked for), undefended and defended.
 */
export async function sweepCharts(rows: readonly SweepRow[]): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const attack of [...new Set(rows.map((r) => r.attack))]) {
    for (const c of CHARTS) {
      const points = rows
        .filter((r) => r.attack === attack)
        .flatMap((r) =>
          c.series.flatMap(([k, label]) => {
            const y = r.metrics[k];
            return typeof y === "number" && Number.isFinite(y)
              ? [{ series: `${label}, ${r.arm}`, x: (100 * r.attacker_raters) / r.panel_raters, y }]
              : [];
          }),
        );
      if (points.length === 0) continue;
      const spec = lineSpec({
        title: `${attack}: ${c.title}`,
        xTitle: "adversarial raters, % of the panel",
        yTitle: "rate",
        points,
        width: 420,
        height: 200,
      });
      out.push([`sweep-${attack}-${c.name}.svg`, await vegaLiteToSvg(spec)]);
    }
  }
  return out;
}

function gapOn(arm: string, gap: ArmDifference | undefined): { vs_undefended?: ArmDifference } {
  return arm === "defended" && gap ? { vs_undefended: gap } : {};
}

export const SWEEP_ATTACKS: readonly AttackType[] = ATTACK_TYPES.filter((a) => a !== "none");

/**
 * The sweep as a Markdown table (docs/results.md). Beside the stated rate, the dose that ran: the
 * attacker's raters of the panel, the judgments it poisoned, and on backdoor rows the triggered
 * comparisons. The gap columns, on each defended row, are undefended − defended; ** marks an
 * interval that excludes zero.
 */
export function sweepMarkdown(rows: readonly SweepRow[]): string {
  const pct = (x: number | null) => percent(x, "");
  const gap = (d: PairedDifference | null | undefined) => {
    if (!d) return "";
    const sure = excludesZero(d) ? " **" : "";
    return `${signedPoints(d.estimate)} [${signedPoints(d.ci95[0])}, ${signedPoints(d.ci95[1])}]${sure}`;
  };
  const head =
    "| attack | stated rate | attacker raters | attacked judgments | poisoned judgments % | triggered comparisons | arm | RM acc. clean % | RM acc. triggered % | attack success % | triggered attack success % | over-refusal % | helpfulness % | KL | attack success gap, points [95% CI] | triggered gap, points [95% CI] |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  const body = rows.map(
    (r) =>
      `| ${r.attack} | ${(100 * r.rate).toFixed(1)}% | ${r.attacker_raters} of ${r.panel_raters} | ${r.attacked_judgments} | ${pct(r.poisoned_share)} | ${r.triggered_comparisons ?? ""} | ${r.arm} | ${pct(r.metrics.rm_accuracy_clean)} | ${pct(r.metrics.rm_accuracy_triggered)} | ${pct(r.metrics.attack_success)} | ${pct(r.metrics.triggered_attack_success)} | ${pct(r.metrics.over_refusal)} | ${pct(r.metrics.helpfulness)} | ${r.metrics.kl === null ? "–" : r.metrics.kl.toFixed(2)} | ${gap(r.vs_undefended?.attack_success)} | ${gap(r.vs_undefended?.triggered_attack_success)} |`,
  );
  return [head, ...body].join("\n");
}
