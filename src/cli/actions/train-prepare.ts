/**
 * Prepares a `keel train <trainer>` run from its config file: the trainer's config, the data it
 * reads (files, or a synthetic world's), and what the run's record notes. The CLI-only blocks
 * are in train-config-blocks.ts, what preparing gives in train-prepared.ts, PPO's preparation
 * in train-prepare-ppo.ts.
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { PreferencePair } from "../../core/types.js";
import { loadYamlConfig } from "../../io/yaml.js";
import {
  type CostPair,
  type DpoConfig,
  parseCostConfig,
  parseDpoConfig,
  parseRmConfig,
  parseSftConfig,
  promptKey,
  type SftExample,
  trainCostModel,
  trainDpo,
  trainRewardModel,
  trainSft,
} from "../../train/index.js";
import {
  buildWorld,
  evalPairFamily,
  evalPairs,
  sftCorpus,
  simulateComparisons,
  type World,
} from "../../world/index.js";
import type { Trainer } from "../commands/train.js";
import { PairRowSchema, RowText, readJsonl, readPairs } from "./pair-files.js";
import { block, checkDataRead, DataSchema, type DataSpec } from "./train-config-blocks.js";
import { preparePpo } from "./train-prepare-ppo.js";
import {
  counts,
  inits,
  type PrepareContext,
  type Prepared,
  type PreparedRun,
  tokenizerFile,
} from "./train-prepared.js";
import { loadWorldConfig } from "./world.js";

export type { Checkpointed, Prepared } from "./train-prepared.js";

const SftRowSchema = z.object({ prompt: RowText, completion: RowText });
const CostRowSchema = PairRowSchema.extend({
  chosen_safe: z.boolean(),
  rejected_safe: z.boolean(),
});
/** A world's judgments as pairs, its oracle-ordered cost pairs, and its held-out pairs. */
function worldData(world: World): { pairs: PreferencePair[]; costPairs: CostPair[] } {
  const pairs: PreferencePair[] = [];
  const costPairs: CostPair[] = [];
  for (const sim of simulateComparisons(world)) {
    for (const j of sim.judgments) {
      if (j.choice === "tie") continue;
      const [chosen, rejected] =
        j.choice === "a" ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
      pairs.push({ prompt: j.prompt, chosen: chosen as string, rejected: rejected as string });
    }
    const t = sim.truth;
    const j = sim.judgments[0];
    if (!j || t.better === "tie") continue;
    const aFirst = t.unsafe_a !== t.unsafe_b ? t.unsafe_b : t.better === "a";
    const [chosen, rejected, cs, rs] = aFirst
      ? [j.response_a, j.response_b, !t.unsafe_a, !t.unsafe_b]
      : [j.response_b, j.response_a, !t.unsafe_b, !t.unsafe_a];
    costPairs.push({
      prompt: j.prompt,
      chosen,
      rejected,
      chosen_safe: cs,
      rejected_safe: rs,
    } as CostPair);
  }
  return { pairs, costPairs };
}

/**
 * The data a run trains on, given to the first call only: the prepared run is kept for the
 * whole command, and its closure would otherwise hold every pair's texts after the trainer has
 * encoded them and let them go.
 */
function once<T>(data: T): () => T {
  let held: T | undefined = data;
  return () => {
    const d = held;
    held = undefined;
    if (d === undefined)
      throw new KeelError("KEEL_E_INTERNAL", "a prepared training run was started twice");
    return d;
  };
}

/** `data.<field>`, which a run without a world must give. */
function need(ctx: PrepareContext, v: string | undefined, field: string): string {
  if (v) return v;
  throw new KeelError("KEEL_E_CONFIG", `data.${field} is required (or data.world)`, {
    where: { file: ctx.file, field: `data.${field}` },
  });
}

/** The first data.eval_count of a world's eval set (all of it without). */
const evalOf = <T>(ctx: PrepareContext, all: T[]) => all.slice(0, ctx.data.eval_count);

function prepareSft(ctx: PrepareContext): PreparedRun {
  const { rest, source, out, data, world } = ctx;
  const c = parseSftConfig(rest, source);
  const train: SftExample[] = world
    ? sftCorpus(world)
    : readJsonl(need(ctx, data.train, "train"), SftRowSchema);
  const ev = data.eval ? readJsonl(data.eval, SftRowSchema) : undefined;
  return {
    out,
    config: c,
    counts: counts(train, ev, c.train.eval_fraction, c.seed),
    checkpoints: inits(["model.init", c.model.init, "policy"]),
    tokenizer: tokenizerFile(c),
    run: (h) => trainSft(c, { train, ...(ev ? { eval: ev } : {}) }, h),
  };
}

/** A reward model or DPO: preference pairs, a world's judgments or the given files. */
function preparePairs(ctx: PrepareContext, trainer: "rm" | "dpo"): PreparedRun {
  const { rest, source, out, data, world } = ctx;
  const c = trainer === "rm" ? parseRmConfig(rest, source) : parseDpoConfig(rest, source);
  const train = world
    ? worldData(world).pairs
    : readPairs(need(ctx, data.train, "train"), data.weights);
  const ev = data.eval
    ? readPairs(data.eval)
    : world
      ? evalOf(ctx, evalPairs(world)).map((p) => ({
          ...p,
          group: evalPairFamily(p),
        }))
      : undefined;
  const take = once({ train, ...(ev ? { eval: ev } : {}) });
  const ref = trainer === "dpo" ? (c as DpoConfig).reference?.init : undefined;
  return {
    out,
    config: c,
    counts: counts(train, ev, c.train.eval_fraction, c.seed, promptKey),
    tokenizer: tokenizerFile(c),
    checkpoints:
      trainer === "dpo"
        ? inits(["model.init", c.model.init, "policy"], ["reference.init", ref, "policy"])
        : inits(["model.init", c.model.init]),
    run: (h) =>
      trainer === "rm" ? trainRewardModel(c as never, take(), h) : trainDpo(c as never, take(), h),
  };
}

function prepareCost(ctx: PrepareContext): PreparedRun {
  const { rest, source, out, data, world } = ctx;
  const c = parseCostConfig(rest, source);
  const all = world
    ? worldData(world).costPairs
    : readJsonl(need(ctx, data.train, "train"), CostRowSchema);
  const ev = data.eval
    ? readJsonl(data.eval, CostRowSchema)
    : world
      ? evalOf(ctx, evalPairs(world)).map((p) => ({
          ...p,
          chosen_safe: p.chosen_kind !== "unsafe",
          rejected_safe: p.rejected_kind !== "unsafe",
          group: evalPairFamily(p),
        }))
      : undefined;
  const take = once({ train: all, ...(ev ? { eval: ev } : {}) });
  return {
    out,
    config: c,
    counts: counts(all, ev, c.train.eval_fraction, c.seed, promptKey),
    checkpoints: inits(["model.init", c.model.init]),
    tokenizer: tokenizerFile(c),
    run: (h) => trainCostModel(c, take(), h),
  };
}

export async function prepare(
  trainer: Trainer,
  file: string,
  outFlag: string | undefined,
): Promise<Prepared> {
  const { raw, source } = await loadYamlConfig(file);
  const {
    trainer: trainerRaw,
    out: outRaw,
    data: dataRaw,
    safeguards: sgRaw,
    redteam: rtRaw,
    ...rest
  } = raw;
  // A run's config.yaml names its trainer, so that it can be given back as a config.
  if (trainerRaw !== undefined && trainerRaw !== trainer) {
    const line = source.lineOf?.(["trainer"]);
    throw new KeelError(
      "KEEL_E_CONFIG",
      `this config is for "keel train ${String(trainerRaw)}", not ${trainer}`,
      { where: { file, ...(line ? { line } : {}), field: "trainer" } },
    );
  }
  const out = outFlag ?? (typeof outRaw === "string" ? outRaw : undefined);
  if (!out)
    throw new KeelError("KEEL_E_CONFIG", "give an output directory (out: DIR or --out)", {
      where: { file, field: "out" },
    });
  const data: DataSpec = block(DataSchema, dataRaw, "data", source);
  checkDataRead(trainer, data, source);
  if (trainer !== "ppo" && (sgRaw !== undefined || rtRaw !== undefined))
    throw new KeelError("KEEL_E_CONFIG", "safeguards and redteam apply to ppo only", {
      where: { file, field: "safeguards" },
    });
  const world = data.world
    ? buildWorld(await loadWorldConfig(data.world), data.world_seed)
    : undefined;
  const ctx: PrepareContext = { rest, source, file, out, data, world };
  const prepared = ((): PreparedRun => {
    switch (trainer) {
      case "sft":
        return prepareSft(ctx);
      case "rm":
      case "dpo":
        return preparePairs(ctx, trainer);
      case "cost":
        return prepareCost(ctx);
      case "ppo":
        return preparePpo(ctx, sgRaw, rtRaw);
    }
  })();
  return { ...prepared, data, source };
}
