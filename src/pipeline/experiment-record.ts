/**
 * `keel experiment tradeoff`'s own record in its --out (docs/pipeline.md): the manifest and
 * config.yaml a run directory has, for a directory that holds the experiment's points.
 */
import { join } from "node:path";
import type { Plan } from "./plan.js";
import { RunDir } from "./rundir.js";
import type { TradeoffOptions } from "./tradeoff.js";

/** A point's files in the experiment's record: its result, its inputs, its model. */
export function recordPoint(record: RunDir, label: string, files: readonly string[]): void {
  for (const f of files) record.recordOutput(`${label}/${f}`);
}

/**
 * The experiment's own record in --out (src/pipeline/rundir.ts): manifest.json (versions,
 * command, every seed its points draw with, the SHA-256 of what it reads of the run — its
 * config.yaml, base policy, reward model and world files —, each point's timing and the
 * SHA-256 of its outputs) and config.yaml (the experiment's settings and the arm's PPO config
 * the points start from). An --out inside a run's directory is refused, as `keel run` refuses it.
 */
export async function openTradeoffRecord(
  o: TradeoffOptions,
  plan: Plan,
  costSeed: number,
  ppoSeed: number,
): Promise<RunDir> {
  const lagrangian = o.costThresholds.length > 0;
  const seeds = {
    "policy.ppo": ppoSeed,
    redteam: plan.redteam.seed,
    world: plan.world.seed,
    ...(lagrangian ? { cost_model: costSeed } : {}),
  };
  const record = RunDir.openExperiment(
    o.out,
    "experiment tradeoff",
    seeds,
    (r) => {
      r.recordInput("from/config.yaml", join(o.from, "config.yaml"));
      r.recordCheckpoint("from/base/model", join(o.from, "base", "model"));
      r.recordCheckpoint(`from/${o.arm}/rm/model`, join(o.from, o.arm, "rm", "model"));
      r.recordInput("from/world/truth.json", join(o.from, "world", "truth.json"));
      if (lagrangian)
        r.recordInput("from/world/judgments.jsonl", join(o.from, "world", "judgments.jsonl"));
    },
    o.resume === true,
  );
  await record.writeYaml("config.yaml", {
    experiment: "tradeoff",
    from: o.from,
    arm: o.arm,
    kl: o.kl,
    cost_thresholds: o.costThresholds,
    redteam: plan.redteam,
  });
  await record.saveManifest();
  return record;
}
