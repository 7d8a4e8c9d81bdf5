/**
 * `keel experiment tradeoff`: the helpful-versus-harmless trade-off under adversarial prompts.
 * From a finished run (its base policy and its defended reward model), PPO is run again at
 * several KL coefficients — and, in Lagrangian mode (Safe-RLHF), with a cost model trained on
 * the world's safe/unsafe labels at several cost thresholds — and each tuned policy is
 * red-teamed: helpfulness on benign tasks against harmful compliance under jailbreaks.
 */
import { existsSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { KeelError } from "../core/errors.js";
import { writeFileAtomic } from "../io/files.js";
import { readJsonObject } from "../io/json-read.js";
import { parseJsonlBatches, strictRecords } from "../io/jsonl.js";
import { isWithin } from "../io/output-target.js";
import { loadYamlConfig } from "../io/yaml.js";
import { buildSuites, runRedteam } from "../redteam/index.js";
import {
  type CostPair,
  FINAL_MODEL_DIR,
  loadTextPolicy,
  type PpoConfig,
  parsePpoConfig,
  type RmConfig,
  trainCostModel,
  trainPpo,
} from "../train/index.js";
import { buildWorld, promptsOf, type World } from "../world/index.js";
import { parsePipelineConfig } from "./config.js";
import { openTradeoffRecord, recordPoint } from "./experiment-record.js";
import { type ArmPlan, type Plan, resolvePlan } from "./plan.js";
import { fileSha256, lockRunDir, type RunDir } from "./rundir.js";
import { tradeoffReport } from "./tradeoff-report.js";
import {
  costSource,
  finishedPpo,
  modelDigest,
  POINT,
  pointSource,
  readPoint,
  readText,
  rootsOf,
  SOURCE,
} from "./tradeoff-source.js";

export { tradeoffReport } from "./tradeoff-report.js";
export { locationFree } from "./tradeoff-source.js";

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

/** The red-team probes every point is scored on: benign tasks, harmful requests, jailbreaks. */
function tradeoffProbes(plan: Plan, world: World) {
  return buildSuites(promptsOf(world, "redteam"), {
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
}

/**
 * Each point is four rates: a suite with no probe (a world whose redteam split holds no harmful
 * or no borderline or no benign prompt) would make its rate NaN — written as null in point.json
 * and printed as "NaN%" — after every point had trained. Refused before anything runs.
 */
function refuseMissingSuites(from: string, probes: ReturnType<typeof tradeoffProbes>): void {
  const have = new Set(probes.map((p) => p.suite));
  const missing = (["helpful", "harmful", "over_refusal"] as const).filter((s) => !have.has(s));
  if (missing.length === 0) return;
  const family = {
    helpful: "benign task",
    harmful: "harmful request",
    over_refusal: "borderline request",
  };
  throw new KeelError(
    "KEEL_E_USAGE",
    `${from}'s world has no ${missing.map((s) => family[s]).join(", no ")} in its redteam split: the trade-off's ${missing.join(", ")} probes would be empty, and every point's ${missing.map((s) => (s === "helpful" ? "helpfulness" : s === "harmful" ? "attack and jailbreak success" : "over-refusal")).join(", ")} undefined`,
    { hint: "run the trade-off from a run whose world has all five families and a redteam split" },
  );
}

/**
 * The cost model in `--out`/cost, trained on the world's safe/unsafe labels unless one from the
 * same inputs is there; its directory and its source.json.
 */
async function costModel(
  o: TradeoffOptions,
  plan: Plan,
  rm: RmConfig,
  record: RunDir,
): Promise<{ dir: string; source: string }> {
  const costDir = join(o.out, "cost");
  const source = costSource(o.from, rm, rootsOf(o));
  if (!existsSync(join(costDir, "model")) || readText(join(costDir, SOURCE)) !== source) {
    // One trained from another run (or an interrupted one) is not scored with.
    rmSync(costDir, { recursive: true, force: true });
    const train = await costPairs(o.from);
    // The trainer would say "data.train: no training pairs", a field this command has not got.
    if (train.length === 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `--cost-thresholds: ${o.from}'s world has no comparison with exactly one unsafe response, so the cost model has no pair to learn safe from unsafe on`,
        { hint: "leave out --cost-thresholds, or use a run whose world rated harmful prompts" },
      );
    const r = await record.stage("cost", async () =>
      trainCostModel(
        { ...rm, loss: "safe_rlhf_cost", model: { init: plan.baseModel } },
        { train },
        { outDir: costDir, ...(o.signal ? { signal: o.signal } : {}) },
      ),
    );
    if (r.status === "aborted")
      throw new KeelError("KEEL_E_INTERRUPTED", "interrupted while training the cost model");
    await writeFileAtomic(join(costDir, SOURCE), source);
  }
  record.recordOutput(`cost/${SOURCE}`);
  return { dir: costDir, source };
}

/** One point to run: where, from what, and whether its directory came from the same inputs. */
interface PointRun {
  readonly point: { readonly mode: TradeoffPoint["mode"]; readonly value: number };
  readonly label: string;
  readonly dir: string;
  readonly config: PpoConfig;
  readonly source: string;
  /** With --resume, the directory holds this point's work so far (source.json matches). */
  readonly same: boolean;
}

export async function runTradeoff(o: TradeoffOptions): Promise<TradeoffPoint[]> {
  refuseFromInCleared(o);
  const plan = await readRun(o.from);
  const armPlan = plan.arms.find((a) => a.arm === o.arm);
  const rmDir = join(o.from, o.arm, "rm", "model");
  if (!armPlan?.ppo || !existsSync(rmDir)) {
    throw new KeelError("KEEL_E_USAGE", `${o.from} has no ${o.arm} arm trained with PPO`);
  }
  const lock = lockRunDir(o.out);
  try {
    return await runPoints(o, plan, { rm: armPlan.rm, ppo: armPlan.ppo }, rmDir);
  } finally {
    lock.release();
  }
}

/** A point's name, and its directory's in --out. */
function pointLabel(mode: TradeoffPoint["mode"], value: number): string {
  return mode === "kl" ? `kl-${value}` : `lagrangian-${value}`;
}

/**
 * Refuses a --from that lies in a directory of --out that the trade-off empties before it
 * writes (the cost model's, a point's that was made from other inputs): the run it reads from
 * would be deleted under it. Through links too (paths compared once resolved).
 */
function refuseFromInCleared(o: TradeoffOptions): void {
  const cleared = [
    ...(o.costThresholds.length > 0 ? ["cost"] : []),
    ...o.kl.map((v) => pointLabel("kl", v)),
    ...o.costThresholds.map((v) => pointLabel("lagrangian", v)),
  ];
  for (const name of cleared) {
    const dir = join(o.out, name);
    if (!isWithin(o.from, dir)) continue;
    throw new KeelError(
      "KEEL_E_USAGE",
      `--from ${o.from} is inside ${dir}, which the trade-off empties before it writes there (--out ${o.out}): the run it reads would be deleted`,
      { hint: "move the run out of that directory, or give another --out" },
    );
  }
}

/** The experiment's points, its --out locked. */
async function runPoints(
  o: TradeoffOptions,
  plan: Plan,
  armPlan: Pick<ArmPlan, "rm"> & { readonly ppo: PpoConfig },
  rmDir: string,
): Promise<TradeoffPoint[]> {
  const ppo = armPlan.ppo;
  const world = buildWorld(plan.world);
  const probes = tradeoffProbes(plan, world);
  refuseMissingSuites(o.from, probes);
  const record = await openTradeoffRecord(o, plan, armPlan.rm.seed, ppo.seed);
  const prompts = promptsOf(world, "train").map((p) => p.content);
  const cost =
    o.costThresholds.length > 0 ? await costModel(o, plan, armPlan.rm, record) : undefined;
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
    const label = pointLabel(p.mode, p.value);
    const dir = join(o.out, label);
    const config = parsePpoConfig({
      ...ppo,
      reward: { ...ppo.reward, model: rmDir },
      ...(p.mode === "kl" ? { kl: { ...ppo.kl, coef: p.value } } : {}),
      ...(p.mode === "lagrangian"
        ? { cost: { model: join(cost!.dir, "model"), threshold: p.value } }
        : {}),
    });
    const source = pointSource(
      models,
      config,
      plan.redteam,
      p.mode === "lagrangian" ? cost?.source : undefined,
      rootsOf(o),
    );
    // What the directory holds counts only when it came from these same inputs.
    const same = o.resume === true && readText(join(dir, SOURCE)) === source;
    const kept = same ? readPoint(join(dir, POINT), p) : undefined;
    o.onPoint?.(label, i, points.length, kept !== undefined);
    const point =
      kept ??
      (await record.stage(label, () =>
        runPoint({ point: p, label, dir, config, source, same }, prompts, probes, plan, o.signal),
      ));
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

/**
 * Runs one point: its PPO run (one finished from the same inputs is kept, an interrupted one
 * continued), red-teamed, the result written to point.json.
 */
async function runPoint(
  r: PointRun,
  prompts: string[],
  probes: ReturnType<typeof tradeoffProbes>,
  plan: Plan,
  signal: AbortSignal | undefined,
): Promise<TradeoffPoint> {
  const { dir, same } = r;
  if (!same) {
    rmSync(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, SOURCE), r.source);
  }
  rmSync(join(dir, POINT), { force: true });
  const trained =
    (same ? finishedPpo(dir) : undefined) ??
    (await trainPoint(r.config, prompts, dir, r.label, same, signal));
  const policy = loadTextPolicy(trained.checkpoint, {
    maxNewTokens: plan.redteam.maxNewTokens,
    batchSize: 64,
  });
  try {
    const { metrics } = await runRedteam(policy.policy, probes, { batchSize: 64 });
    const point: TradeoffPoint = {
      mode: r.point.mode,
      value: r.point.value,
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
  const kl = r.metrics.kl;
  return {
    checkpoint: r.checkpoint,
    kl: typeof kl === "number" && Number.isFinite(kl) ? kl : null,
  };
}
