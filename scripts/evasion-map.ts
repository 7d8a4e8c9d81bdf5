/**
 * The evasion map: where `keel audit` stops catching each attacker type of the synthetic world.
 * Each file of examples/evasion/ names an attacker type, a base world and grids of what an
 * attacker who knows the audit would vary (its share of the panel, its per-rater poison rate,
 * camouflage: gold_detection, easy_margin, wake_after; sybil group size; backdoor claim ...).
 * Every cell is simulated for several seeds and audited in this process (the balanced policy
 * with gold, as `keel audit` runs by default), and the audit is scored against truth.json:
 *
 *   excluded / suspect / missed   shares of the attacker accounts by verdict (missed = trusted)
 *   honest excl.                  honest raters excluded (a count)
 *   poison kept                   mean effective weight of the poisoned judgments (the world's
 *                                 `attacked_by`): ω_j × the comparison's weight, 0..1, i.e. the
 *                                 share of the poison's mass the reward model still trains on
 *   carried before / clean / after  of the comparisons where an attacker voted against the
 *                                 truth, the share whose label goes the attacker's way: before,
 *                                 undefended Dawid–Skene on every judgment; clean, the same on
 *                                 the honest raters' judgments alone (what a perfect defense
 *                                 gives: the honest raters' own mistakes); after, the audit's
 *                                 p_a with weight > 0. A label of ½ counts half before and clean;
 *                                 a comparison with no honest judgment counts 0 in clean
 *   named                         backdoor: the trigger reported; entity promoter: the name
 *                                 reported; sybil: share of the accounts in a reported group
 *
 *   npx tsx scripts/evasion-map.ts [FILE.yaml ...] [--seeds N] [--comparisons N] [--out map.json]
 *
 * Without files, every examples/evasion/*.yaml. Seeded and deterministic: the JSON holds no
 * time, and the same files and flags give the same bytes.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import { dawidSkene, encodeJudgments } from "../src/aggregate/index.js";
import { parseConfig } from "../src/core/config.js";
import { KeelError } from "../src/core/errors.js";
import type { Judgment } from "../src/core/types.js";
import { audit } from "../src/defend/index.js";
import { loadYamlConfig } from "../src/io/yaml.js";
import { parseWorldConfig, RATER_TYPES, simulatePanel } from "../src/world/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const Obj = z.record(z.string(), z.unknown());
const AxisValue = z.union([z.number(), z.string(), z.boolean()]);

export const EvasionSpecSchema = z.strictObject({
  /** The attacker's rater type (docs/world.md). */
  attack: z.enum(RATER_TYPES.filter((t) => t !== "honest") as [string, ...string[]]),
  /** Raters in the panel: honest ones and max(1, round(size · share)) attackers. */
  panel_size: z.int().min(3).max(5000).default(200),
  seeds: z.array(z.int()).min(1).default([1, 2, 3]),
  /** A world config without `panel` (docs/world.md). */
  world: Obj.default({}),
  /** Keys of the honest group beside its count. */
  honest: Obj.default({}),
  /** Keys of the attacker group beside its type and count; axes override them. */
  attacker: Obj.default({}),
  audit: z
    .strictObject({
      policy: z.enum(["strict", "balanced", "permissive"]).default("balanced"),
      use_gold: z.boolean().default(true),
    })
    .prefault({}),
  /**
   * Grids, each a cartesian product of its axes: `share` (the attackers' share of the panel), a
   * key of the attacker group (`rate`, `gold_detection`, `group_size`, ...), or a dotted path
   * into the world config (`trigger.rate`).
   */
  grids: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        axes: z.record(z.string(), z.array(AxisValue).min(1)),
      }),
    )
    .min(1),
});
export type EvasionSpec = z.infer<typeof EvasionSpecSchema> & { file: string };

export interface RunMetrics {
  seed: number;
  attackers: number;
  judgments: number;
  poisoned: number;
  excluded: number;
  suspect: number;
  missed: number;
  honest_excluded: number;
  honest_suspect: number;
  /** null when no judgment was poisoned. */
  poison_kept: number | null;
  targets: number;
  carried_before: number | null;
  carried_clean: number | null;
  carried_after: number | null;
  named: number | null;
}

type Stat = { mean: number; min: number; max: number } | null;
export interface CellResult {
  attack: string;
  grid: string;
  cell: Record<string, string | number | boolean>;
  seeds: RunMetrics[];
  mean: Record<Exclude<keyof RunMetrics, "seed">, Stat>;
}

export async function loadSpec(file: string): Promise<EvasionSpec> {
  const { raw, source } = await loadYamlConfig(file);
  const spec = parseConfig(EvasionSpecSchema, raw, source, [], "evasion map config");
  if ("panel" in spec.world)
    throw new KeelError("KEEL_E_CONFIG", "world.panel is built by the map: give honest/attacker", {
      where: { file, field: "world.panel" },
    });
  return { ...spec, file };
}

function product(axes: Record<string, readonly (string | number | boolean)[]>) {
  let cells: Record<string, string | number | boolean>[] = [{}];
  for (const [k, vs] of Object.entries(axes))
    cells = cells.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  return cells;
}

function setPath(o: Record<string, unknown>, path: string[], v: unknown): void {
  let at = o;
  for (const k of path.slice(0, -1)) {
    const next = at[k];
    at[k] = typeof next === "object" && next !== null ? { ...(next as object) } : {};
    at = at[k] as Record<string, unknown>;
  }
  at[path.at(-1)!] = v;
}

/** The world config of one cell (validated), and its attacker count. */
export function cellWorld(spec: EvasionSpec, cell: Record<string, unknown>) {
  const world: Record<string, unknown> = structuredClone(spec.world);
  const attacker: Record<string, unknown> = { ...spec.attacker };
  let share = typeof attacker.share === "number" ? attacker.share : 0.05;
  delete attacker.share;
  for (const [k, v] of Object.entries(cell)) {
    if (k === "share") share = Number(v);
    else if (k.includes(".")) setPath(world, k.split("."), v);
    else attacker[k] = v;
  }
  const k = Math.max(1, Math.round(spec.panel_size * share));
  world.panel = {
    raters: [
      { type: "honest", ...spec.honest, count: spec.panel_size - k },
      { ...attacker, type: spec.attack, count: k },
    ],
  };
  const where = `${relative(ROOT, spec.file)} cell ${JSON.stringify(cell)}`;
  try {
    return { config: parseWorldConfig(world, { file: where }), attackers: k };
  } catch (e) {
    if (e instanceof KeelError) throw e;
    throw new KeelError("KEEL_E_CONFIG", String(e), { where: { file: where } });
  }
}

function undefended(judgments: readonly Judgment[]): Map<string, number> {
  const fit = dawidSkene(encodeJudgments(judgments).categorical, { maxIter: 50, tol: 1e-6 });
  const K = fit.classes.length;
  const ia = fit.classes.indexOf("a");
  const it = fit.classes.indexOf("tie");
  const out = new Map<string, number>();
  fit.tasks.forEach((id, t) => {
    const pa = ia >= 0 ? fit.probas[t * K + ia]! : 0;
    out.set(id, pa + (it >= 0 ? 0.5 * fit.probas[t * K + it]! : 0));
  });
  return out;
}

/** One world, one audit, scored against the truth. */
export function runOnce(spec: EvasionSpec, cell: Record<string, unknown>, seed: number) {
  const { config, attackers } = cellWorld(spec, cell);
  const { judgments, truth } = simulatePanel(config, seed);
  const result = audit(
    { judgments },
    { policy: spec.audit.policy, useGold: spec.audit.use_gold, heatmapRaters: 0 },
  );
  const typeOf = new Map(truth.raters.map((r) => [r.rater_id, r.type]));
  const isAttacker = (id: string) => typeOf.get(id) === spec.attack;
  const v = { excluded: 0, suspect: 0, trusted: 0 };
  const h = { excluded: 0, suspect: 0, trusted: 0 };
  for (const r of result.raters) (isAttacker(r.rater_id) ? v : h)[r.verdict]++;
  const poisonedKeys = new Set<string>();
  for (const c of truth.comparisons)
    for (const r of c.attacked_by) poisonedKeys.add(`${c.comparison_id}|${r}`);
  // The attacker's side on each comparison where it voted against the truth.
  const target = new Map<string, "a" | "b">();
  let poisoned = 0;
  let kept = 0;
  const better = new Map(truth.comparisons.map((c) => [c.comparison_id, c.better]));
  judgments.forEach((j, i) => {
    if (!poisonedKeys.has(`${j.comparison_id}|${j.rater_id}`)) return;
    poisoned++;
    kept += Math.min(1, result.judgmentWeights[i]!);
    const b = better.get(j.comparison_id);
    if (j.choice !== "tie" && b !== "tie" && j.choice !== b && !target.has(j.comparison_id))
      target.set(j.comparison_id, j.choice);
  });
  const before = undefended(judgments);
  const clean = undefended(judgments.filter((j) => !isAttacker(j.rater_id)));
  const after = new Map(result.comparisons.map((c) => [c.comparison_id, c]));
  let carriedBefore = 0;
  let carriedClean = 0;
  const side = (p: number, s: "a" | "b") => (p === 0.5 ? 0.5 : (p > 0.5 ? "a" : "b") === s ? 1 : 0);
  let carriedAfter = 0;
  for (const [id, s] of target) {
    carriedBefore += side(before.get(id) ?? 0.5, s);
    // A comparison only attackers rated has no clean label: dropped, as the audit drops it.
    const pc = clean.get(id);
    if (pc !== undefined) carriedClean += side(pc, s);
    const c = after.get(id);
    if (c && !c.excluded && c.weight > 0 && c.p_a !== 0.5 && (c.p_a > 0.5 ? "a" : "b") === s)
      carriedAfter++;
  }
  let named: number | null = null;
  if (spec.attack === "backdoor") {
    const token = truth.trigger.token.toLowerCase();
    named = result.triggers.some((t) => t.pattern.split(" ").includes(token)) ? 1 : 0;
  } else if (spec.attack === "entity_promoter") {
    const entity = String(truth.raters.find((r) => isAttacker(r.rater_id))?.params.entity ?? "");
    named = result.promotions.some((p) => p.pattern === entity.toLowerCase()) ? 1 : 0;
  } else if (spec.attack === "sybil") {
    const grouped = new Set(result.groups.flatMap((g) => g.rater_ids));
    named = [...typeOf.keys()].filter((id) => isAttacker(id) && grouped.has(id)).length / attackers;
  }
  const n = target.size;
  return {
    seed,
    attackers,
    judgments: judgments.length,
    poisoned,
    excluded: v.excluded / attackers,
    suspect: v.suspect / attackers,
    missed: v.trusted / attackers,
    honest_excluded: h.excluded,
    honest_suspect: h.suspect,
    poison_kept: poisoned > 0 ? kept / poisoned : null,
    targets: n,
    carried_before: n > 0 ? carriedBefore / n : null,
    carried_clean: n > 0 ? carriedClean / n : null,
    carried_after: n > 0 ? carriedAfter / n : null,
    named,
  } satisfies RunMetrics;
}

function stat(xs: (number | null)[]): Stat {
  const ys = xs.filter((x): x is number => x !== null);
  if (ys.length === 0) return null;
  return {
    mean: ys.reduce((s, x) => s + x, 0) / ys.length,
    min: Math.min(...ys),
    max: Math.max(...ys),
  };
}

export interface MapOptions {
  /** Use only the first N seeds of each file. */
  seeds?: number;
  /** Override `world.comparisons.count`. */
  comparisons?: number;
  progress?: (line: string) => void;
}

export function runSpec(spec: EvasionSpec, o: MapOptions = {}): CellResult[] {
  const seeds = spec.seeds.slice(0, o.seeds ?? spec.seeds.length);
  if (o.comparisons !== undefined) setPath(spec.world, ["comparisons", "count"], o.comparisons);
  const out: CellResult[] = [];
  for (const grid of spec.grids) {
    for (const cell of product(grid.axes)) {
      const runs = seeds.map((s) => runOnce(spec, cell, s));
      const keys = Object.keys(runs[0]!).filter((k) => k !== "seed") as Exclude<
        keyof RunMetrics,
        "seed"
      >[];
      const mean = Object.fromEntries(keys.map((k) => [k, stat(runs.map((r) => r[k]))]));
      out.push({ attack: spec.attack, grid: grid.name, cell, seeds: runs, mean } as CellResult);
      o.progress?.(`  ${spec.attack} ${grid.name} ${cellLabel(cell)}`);
    }
  }
  return out;
}

export const cellLabel = (cell: Record<string, unknown>) =>
  Object.entries(cell)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

const pct = (x: number) => `${Math.round(100 * x)}%`;
function fmt(s: Stat, range: boolean, as: (x: number) => string = pct): string {
  if (s === null) return "–";
  if (!range || s.min === s.max) return as(s.mean);
  return `${as(s.mean)} (${as(s.min)}–${as(s.max)})`;
}

export function formatTable(cells: readonly CellResult[]): string {
  const header = [
    "attack",
    "grid",
    "cell",
    "k",
    "excluded",
    "suspect",
    "missed",
    "honest excl.",
    "poison kept",
    "carried before",
    "clean",
    "carried after",
    "named",
  ];
  const rows = cells.map((c) => [
    c.attack,
    c.grid,
    cellLabel(c.cell),
    String(c.seeds[0]!.attackers),
    fmt(c.mean.excluded, true),
    fmt(c.mean.suspect, false),
    fmt(c.mean.missed, true),
    fmt(c.mean.honest_excluded, true, (x) => x.toFixed(1).replace(/\.0$/, "")),
    fmt(c.mean.poison_kept, true),
    fmt(c.mean.carried_before, false),
    fmt(c.mean.carried_clean, false),
    fmt(c.mean.carried_after, true),
    fmt(c.mean.named, false),
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((x, i) => (i < 3 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

export function defaultFiles(): string[] {
  const dir = join(ROOT, "examples", "evasion");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}

const positiveInt = (flag: string, s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < 1)
    throw new KeelError("KEEL_E_USAGE", `${flag} must be a whole number ≥ 1, not "${s}"`);
  return Number(s);
};

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      seeds: { type: "string" },
      comparisons: { type: "string" },
    },
  });
  const files = positionals.length > 0 ? positionals : defaultFiles();
  const o: MapOptions = {
    progress: (l) => process.stderr.write(`${l}\n`),
  };
  const seeds = positiveInt("--seeds", values.seeds);
  const comparisons = positiveInt("--comparisons", values.comparisons);
  if (seeds !== undefined) o.seeds = seeds;
  if (comparisons !== undefined) o.comparisons = comparisons;
  const cells: CellResult[] = [];
  for (const f of files) cells.push(...runSpec(await loadSpec(f), o));
  console.log(formatTable(cells));
  if (values.out !== undefined) {
    const body = {
      format: "keel-evasion-map/1",
      files: files.map((f) => relative(ROOT, f)),
      cells,
    };
    writeFileSync(values.out, `${JSON.stringify(body, null, 2)}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof KeelError ? `${e.code}: ${e.message}` : String(e)}\n`);
    process.exitCode = 1;
  });
}
