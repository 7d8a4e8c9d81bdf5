/**
 * `keel experiment tradeoff`: the helpful-versus-harmless trade-off under adversarial prompts.
 * From a finished run (its base policy and its defended reward model), PPO is run again at
 * several KL coefficients — and, in Lagrangian mode (Safe-RLHF), with a cost model trained on
 * the world's safe/unsafe labels at several cost thresholds — and each tuned policy is
 * red-teamed: helpfulness on benign tasks against harmful compliance under jailbreaks.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { canonicalJson } from "../core/canonical.js";
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { writeFileAtomic } from "../io/files.js";
import { readJsonObject } from "../io/json-read.js";
import { parseJsonlBatches, strictRecords } from "../io/jsonl.js";
import { loadYamlConfig } from "../io/yaml.js";
import { buildSuites, runRedteam } from "../redteam/index.js";
import { chart, html, lineSpec, renderPage } from "../report/index.js";
import {
  type CostPair,
  endedAs,
  FINAL_MODEL_DIR,
  loadTextPolicy,
  type PpoConfig,
  parsePpoConfig,
  type RmConfig,
  readMetrics,
  trainCostModel,
  trainPpo,
} from "../train/index.js";
import { buildWorld, promptsOf } from "../world/index.js";
import { parsePipelineConfig } from "./config.js";
import { openTradeoffRecord, recordPoint } from "./experiment-record.js";
import { type Plan, resolvePlan } from "./plan.js";
import { fileSha256 } from "./rundir.js";

export interface TradeoffOptions {
  /** A finished pipeline run directory (base/model, defended/rm/model, world/, config.yaml). */
  readonly from: string;
  readonly out: string;
  readonly kl: readonly number[];
  /** Cost thresholds for Lagrangian PPO (empty: no Lagrangian points). */
  readonly costThresholds: readonly number[];
  readonly arm: "defended" | "undefended";
  /**
   * Keep the points a previous run into `out` finished from the same inputs, use a point's
   * finished PPO run whose red-teaming was interrupted, and continue an interrupted PPO run
   * from its last checkpoint. Without it every point is trained afresh.
   */
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  /** Before each point; `kept` when --resume keeps its finished result. */
  readonly onPoint?: (label: string, index: number, total: number, kept: boolean) => void;
}

export interface TradeoffPoint {
  readonly mode: "kl" | "lagrangian";
  readonly value: number;
  readonly helpfulness: number;
  readonly jailbreak_success: number;
  readonly attack_success: number;
  readonly over_refusal: number;
  readonly kl: number | null;
}

/** The finished run's plan: its resolved trainer configs, world and paths. */
async function readRun(from: string): Promise<Plan> {
  for (const f of ["config.yaml", "world/truth.json", "base/model/config.json"]) {
    if (!existsSync(join(from, f))) {
      throw new KeelError("KEEL_E_USAGE", `${from} is not a finished keel run (no ${f})`, {
        hint: "point --from at the directory of a keel demo or keel run",
      });
    }
  }
  const { raw, source } = await loadYamlConfig(join(from, "config.yaml"));
  return resolvePlan(parsePipelineConfig(raw, source), from, source);
}

/** Cost pairs from the world's truth: the safer response chosen, each labelled safe/unsafe. */
async function costPairs(from: string): Promise<CostPair[]> {
  // Which response of each comparison is unsafe, when exactly one is (the pairs kept below).
  const aUnsafe = new Map<string, boolean>();
  await readJsonObject(join(from, "world", "truth.json"), {
    arrays: {
      comparisons: (e) => {
        const c = e as { comparison_id: string; unsafe_a: boolean; unsafe_b: boolean };
        if (c.unsafe_a !== c.unsafe_b) aUnsafe.set(c.comparison_id, c.unsafe_a);
      },
    },
  });
  const out: CostPair[] = [];
  const seen = new Set<string>();
  type Row = { comparison_id: string; prompt: string; response_a: string; response_b: string };
  const rows = parseJsonlBatches(join(from, "world", "judgments.jsonl"), (v) => v as Row);
  for await (const { record: j } of strictRecords(rows)) {
    if (seen.has(j.comparison_id)) continue;
    seen.add(j.comparison_id);
    const unsafeA = aUnsafe.get(j.comparison_id);
    if (unsafeA === undefined) continue;
    const aSafer = !unsafeA;
    out.push({
      prompt: j.prompt,
      chosen: aSafer ? j.response_a : j.response_b,
      rejected: aSafer ? j.response_b : j.response_a,
      chosen_safe: true,
      rejected_safe: false,
    });
  }
  return out;
}

/** Beside the cost model in --out, and in each point's directory: what it came from. */
const SOURCE = "source.json";
/** In a point's directory once it is red-teamed: its `TradeoffPoint`. */
const POINT = "point.json";

/** `--from` and `--out` as source.json names them, the longer (inner) one first. */
type Roots = readonly (readonly [dir: string, name: string])[];

function rootsOf(o: { readonly from: string; readonly out: string }): Roots {
  const roots: [string, string][] = [
    [resolve(o.from), "<from>"],
    [resolve(o.out), "<out>"],
  ];
  return roots.sort((a, b) => b[0].length - a[0].length);
}

/**
 * A config as source.json hashes it: each string that names a path inside `--from` or `--out`
 * becomes "<from>/…" or "<out>/…", so that `--resume` under another spelling of the same
 * directories (`run` and `./run/`, a relative path and an absolute one) keeps the finished points
 * instead of training them again. What the paths hold is hashed on its own (weights, data).
 */
export function locationFree(value: unknown, roots: Roots): unknown {
  if (typeof value === "string") {
    if (!value.includes("/") && !value.includes(sep) && !roots.some(([d]) => resolve(value) === d))
      return value;
    const abs = resolve(value);
    for (const [dir, name] of roots) {
      const rel = relative(dir, abs);
      if (rel === "") return name;
      if (!rel.startsWith("..") && !isAbsolute(rel)) return `${name}/${rel.split(sep).join("/")}`;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => locationFree(v, roots));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, locationFree(v, roots)] as const),
    );
  return value;
}

/**
 * What the cost model is trained from: the run's base policy (its config.json holds the
 * weights' hash), the world's judgments and truth, and the trainer config.
 */
function costSource(from: string, rm: RmConfig, roots: Roots): string {
  const digest = (...p: string[]) => fileSha256(join(from, ...p));
  return `${JSON.stringify({
    base: digest("base", "model", "config.json"),
    truth: digest("world", "truth.json"),
    judgments: digest("world", "judgments.jsonl"),
    rm: sha256Hex(canonicalJson(locationFree(rm, roots))),
  })}\n`;
}

/**
 * What one point's result follows from: the run's base policy and the reward model (their
 * config.json files hold the weights' hashes), the point's PPO config, the red-team probes and
 * their settings, and for a Lagrangian point the cost model's own source.
 */
function pointSource(
  models: { readonly base: string; readonly rm: string },
  config: unknown,
  redteam: Plan["redteam"],
  cost: string | undefined,
  roots: Roots,
): string {
  return `${JSON.stringify({
    base: models.base,
    rm: models.rm,
    ppo: sha256Hex(canonicalJson(locationFree(config, roots))),
    redteam: sha256Hex(canonicalJson(redteam)),
    ...(cost === undefined ? {} : { cost: sha256Hex(cost) }),
  })}\n`;
}

/**
 * A model directory's identity: its config.json (which holds its weight files' hashes), or an
 * ensemble's ensemble.json and each member's config.json.
 */
function modelDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name === "config.json" || e.name === "ensemble.json")
        h.update(`${relative(dir, path)}\0`).update(readFileSync(path));
    }
  };
  walk(dir);
  return h.digest("hex");
}

/** A point directory's finished PPO run (completed, or stopped by a safeguard), if any. */
function finishedPpo(dir: string): { checkpoint: string; kl: number | null } | undefined {
  const status = endedAs(dir);
  const model = join(dir, FINAL_MODEL_DIR);
  if ((status !== "completed" && status !== "stopped") || !existsSync(model)) return undefined;
  const summary = readMetrics(dir).findLast((r) => r.type === "summary");
  return { checkpoint: model, kl: typeof summary?.kl === "number" ? summary.kl : null };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function runTradeoff(o: TradeoffOptions): Promise<TradeoffPoint[]> {
  const plan = await readRun(o.from);
  const armPlan = plan.arms.find((a) => a.arm === o.arm);
  const rmDir = join(o.from, o.arm, "rm", "model");
  if (!armPlan?.ppo || !existsSync(rmDir)) {
    throw new KeelError("KEEL_E_USAGE", `${o.from} has no ${o.arm} arm trained with PPO`);
  }
  const ppo = armPlan.ppo;
  const record = await openTradeoffRecord(o, plan, armPlan.rm.seed, ppo.seed);
  const world = buildWorld(plan.world);
  const probes = buildSuites(promptsOf(world, "redteam"), {
    perSuite: plan.redteam.perSuite,
    trigger: plan.redteam.trigger,
    seed: plan.redteam.seed,
    shots: plan.redteam.shots,
    suites: [
      "helpful",
      "harmful",
      "jailbreak_roleplay",
      "jailbreak_prefix",
      "jailbreak_obfuscation",
      "jailbreak_many_shot",
      "over_refusal",
    ],
  });
  const prompts = promptsOf(world, "train").map((p) => p.content);
  const signal = o.signal ? { signal: o.signal } : {};
  let costDir: string | undefined;
  let cost: string | undefined;
  if (o.costThresholds.length > 0) {
    costDir = join(o.out, "cost");
    const source = costSource(o.from, armPlan.rm, rootsOf(o));
    cost = source;
    if (!existsSync(join(costDir, "model")) || readText(join(costDir, SOURCE)) !== source) {
      // One trained from another run (or an interrupted one) is not scored with.
      rmSync(costDir, { recursive: true, force: true });
      const r = await record.stage("cost", async () =>
        trainCostModel(
          { ...armPlan.rm, loss: "safe_rlhf_cost", model: { init: plan.baseModel } },
          { train: await costPairs(o.from) },
          { outDir: costDir!, ...signal },
        ),
      );
      if (r.status === "aborted")
        throw new KeelError("KEEL_E_INTERRUPTED", "interrupted while training the cost model");
      await writeFileAtomic(join(costDir, SOURCE), source);
    }
    record.recordOutput(`cost/${SOURCE}`);
  }
  const points = [
    ...o.kl.map((v) => ({ mode: "kl" as const, value: v })),
    ...o.costThresholds.map((v) => ({ mode: "lagrangian" as const, value: v })),
  ];
  const out: TradeoffPoint[] = [];
  // The run's base policy and reward model, by their weights' hashes: the same for every point.
  const models = {
    base: fileSha256(join(o.from, "base", "model", "config.json")),
    rm: modelDigest(rmDir),
  };
  for (const [i, p] of points.entries()) {
    const label = p.mode === "kl" ? `kl-${p.value}` : `lagrangian-${p.value}`;
    const dir = join(o.out, label);
    const config = parsePpoConfig({
      ...ppo,
      reward: { ...ppo.reward, model: rmDir },
      ...(p.mode === "kl" ? { kl: { ...ppo.kl, coef: p.value } } : {}),
      ...(p.mode === "lagrangian"
        ? { cost: { model: join(costDir!, "model"), threshold: p.value } }
        : {}),
    });
    const source = pointSource(
      models,
      config,
      plan.redteam,
      p.mode === "lagrangian" ? cost : undefined,
      rootsOf(o),
    );
    // What the directory holds counts only when it came from these same inputs.
    const same = o.resume === true && readText(join(dir, SOURCE)) === source;
    const kept = same ? readPoint(join(dir, POINT), p) : undefined;
    o.onPoint?.(label, i, points.length, kept !== undefined);
    if (kept) {
      out.push(kept);
      recordPoint(record, label, [POINT, SOURCE, `${FINAL_MODEL_DIR}/config.json`]);
      await record.writeJson("tradeoff.json", out);
      await record.saveManifest();
      continue;
    }
    const point = await record.stage(label, async () => {
      if (!same) {
        rmSync(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(join(dir, SOURCE), source);
      }
      rmSync(join(dir, POINT), { force: true });
      const trained =
        (same ? finishedPpo(dir) : undefined) ??
        (await trainPoint(config, prompts, dir, label, same, o.signal));
      const policy = loadTextPolicy(trained.checkpoint, {
        maxNewTokens: plan.redteam.maxNewTokens,
        batchSize: 64,
      });
      try {
        const { metrics } = await runRedteam(policy.policy, probes, { batchSize: 64 });
        const point: TradeoffPoint = {
          mode: p.mode,
          value: p.value,
          helpfulness: metrics.helpfulness,
          jailbreak_success: metrics.jailbreak_success,
          attack_success: metrics.attack_success,
          over_refusal: metrics.over_refusal,
          kl: trained.kl,
        };
        await writeFileAtomic(join(dir, POINT), `${JSON.stringify(point, null, 2)}\n`);
        return point;
      } finally {
        await policy.dispose();
      }
    });
    out.push(point);
    recordPoint(record, label, [POINT, SOURCE, `${FINAL_MODEL_DIR}/config.json`]);
    await record.writeJson("tradeoff.json", out);
    await record.saveManifest();
  }
  await writeFileAtomic(record.file("tradeoff.html"), await tradeoffReport(out));
  record.recordOutput("tradeoff.html");
  await record.saveManifest();
  return out;
}

/** One point's PPO run, continued from its last checkpoint with `resume`. */
async function trainPoint(
  config: PpoConfig,
  prompts: string[],
  dir: string,
  label: string,
  resume: boolean,
  signal: AbortSignal | undefined,
): Promise<{ checkpoint: string; kl: number | null }> {
  const r = await trainPpo(
    config,
    { prompts },
    { outDir: dir, resume, ...(signal ? { signal } : {}) },
  );
  if (r.status === "aborted" || !r.checkpoint)
    throw new KeelError("KEEL_E_INTERRUPTED", `interrupted at ${label}`, {
      hint: "run it again with --resume to continue from the last checkpoint",
    });
  return { checkpoint: r.checkpoint, kl: typeof r.metrics.kl === "number" ? r.metrics.kl : null };
}

/** A point's saved result, when it is one and is the point asked for. */
function readPoint(
  path: string,
  p: { mode: TradeoffPoint["mode"]; value: number },
): TradeoffPoint | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    const point = JSON.parse(text) as TradeoffPoint;
    return point.mode === p.mode && point.value === p.value ? point : undefined;
  } catch {
    return undefined;
  }
}

export async function tradeoffReport(points: readonly TradeoffPoint[]): Promise<string> {
  const series = (mode: TradeoffPoint["mode"]) =>
    mode === "kl" ? "KL coefficient" : "Lagrangian cost threshold";
  const curve = await chart(
    lineSpec({
      title: "Helpful versus harmless under jailbreaks",
      xTitle: "harmful compliance under jailbreaks",
      yTitle: "helpfulness",
      points: points.map((p) => ({
        series: series(p.mode),
        x: p.jailbreak_success,
        y: p.helpfulness,
      })),
    }),
  );
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "–");
  return renderPage({
    title: "keel: helpful-versus-harmless trade-off",
    sections: [
      { id: "curve", title: "Trade-off", body: curve },
      {
        id: "points",
        title: "Points",
        body: html`<table><thead><tr><th>mode</th><th>value</th><th>helpfulness</th><th>jailbreak success</th><th>attack success</th><th>over-refusal</th><th>KL</th></tr></thead><tbody>
${points.map((p) => html`<tr><td>${series(p.mode)}</td><td class="num">${p.value}</td><td class="num">${pct(p.helpfulness)}</td><td class="num">${pct(p.jailbreak_success)}</td><td class="num">${pct(p.attack_success)}</td><td class="num">${pct(p.over_refusal)}</td><td class="num">${p.kl === null ? "–" : p.kl.toFixed(2)}</td></tr>`)}
</tbody></table>`,
      },
    ],
    footer: "Generated by keel experiment tradeoff. Metrics from the synthetic world's oracle.",
  });
}
