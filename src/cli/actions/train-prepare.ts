import { z } from "zod";
import { parseNested } from "../../core/config.js";
import { KeelError } from "../../core/errors.js";
import type { Seed } from "../../core/rng.js";
import type { PreferencePair } from "../../core/types.js";
import { promptRow } from "../../io/prompts.js";
import { loadYamlConfig } from "../../io/yaml.js";
import { buildSuites, runRedteam } from "../../redteam/index.js";
import { createSafeguards, parseSafeguards } from "../../safeguards/index.js";
import {
  type ConfigSource,
  type CostPair,
  type DpoConfig,
  heldOutCount,
  type Metrics,
  type PpoHooks,
  parseCostConfig,
  parseDpoConfig,
  parsePpoConfig,
  parseRmConfig,
  parseSftConfig,
  promptKey,
  type ScorerKind,
  type SftExample,
  splitEval,
  type TrainHooks,
  type TrainResult,
  trainCostModel,
  trainDpo,
  trainPpo,
  trainRewardModel,
  trainSft,
} from "../../train/index.js";
import {
  buildWorld,
  evalPairFamily,
  evalPairs,
  promptsOf,
  score,
  sftCorpus,
  simulateComparisons,
  type World,
} from "../../world/index.js";
import type { Trainer } from "../commands/train.js";
import { PairRowSchema, readJsonl, readPairs } from "./pair-files.js";
import { loadWorldConfig } from "./world.js";

/**
 * Data files that a world replaces. (`eval` and PPO's `eval_prompts` may come with a world: they
 * replace its held-out set, and the trainers read them.)
 */
const WORLD_EXCLUSIVE = ["train", "weights", "prompts"] as const;

const DataSchema = z
  .strictObject({
    train: z.string().optional(),
    eval: z.string().optional(),
    weights: z.string().optional(),
    prompts: z.string().optional(),
    eval_prompts: z.string().optional(),
    split: z.enum(["train", "eval", "redteam"]).optional(),
    world: z.string().optional(),
    world_seed: z.int().optional(),
    /** World data: the first n eval pairs (default all) or PPO eval prompts (default 200). */
    eval_count: z.int().positive().optional(),
  })
  // A world supplies the examples these files would: with both, the trainer read the world
  // and the record would still name the files as its inputs (an "audit-weighted" reward model
  // that no weight ever reached).
  .superRefine((d, ctx) => {
    // A world's own settings: without a world, or beside the eval file that replaces its
    // held-out set, they would be ignored without a word.
    if (d.world === undefined) {
      for (const k of ["world_seed", "eval_count"] as const)
        if (d[k] !== undefined)
          ctx.addIssue({
            code: "custom",
            path: [k],
            message: `${k} applies to a world's data; give it with data.world`,
          });
      return;
    }
    const evalFile = d.eval !== undefined ? "eval" : d.eval_prompts ? "eval_prompts" : undefined;
    if (d.eval_count !== undefined && evalFile !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["eval_count"],
        message: `eval_count takes the first n of the world's eval set, which data.${evalFile} replaces`,
      });
    const file = WORLD_EXCLUSIVE.find((k) => d[k] !== undefined);
    if (file)
      ctx.addIssue({
        code: "custom",
        path: [file],
        message: "give either world or train/weights/prompts files, not both",
      });
  });
type DataSpec = z.output<typeof DataSchema>;

/**
 * The data fields each trainer reads. Any other would be recorded in the manifest as an input
 * that nothing read (a cost model "weighted" by an audit that no weight ever reached).
 */
const DATA_READ: Readonly<Record<Trainer, readonly (keyof DataSpec)[]>> = {
  sft: ["train", "eval", "world", "world_seed"],
  rm: ["train", "eval", "weights", "world", "world_seed", "eval_count"],
  dpo: ["train", "eval", "weights", "world", "world_seed", "eval_count"],
  cost: ["train", "eval", "world", "world_seed", "eval_count"],
  ppo: ["prompts", "eval_prompts", "split", "world", "world_seed", "eval_count"],
};

function checkDataRead(trainer: Trainer, data: DataSpec, src: ConfigSource): void {
  const read = DATA_READ[trainer];
  const unread = (Object.keys(data) as (keyof DataSpec)[]).find(
    (k) => data[k] !== undefined && !read.includes(k),
  );
  if (unread === undefined) return;
  const line = src.lineOf?.(["data", unread]);
  throw new KeelError(
    "KEEL_E_CONFIG",
    `train ${trainer} does not read data.${unread} (it reads ${read.join(", ")})`,
    {
      where: {
        ...(src.file ? { file: src.file } : {}),
        ...(line ? { line } : {}),
        field: `data.${unread}`,
      },
    },
  );
}

const RedteamSchema = z.strictObject({
  per_suite: z.int().positive().default(40),
  seed: z.int().default(1),
  trigger: z.string().default("SUDO"),
  max_new_tokens: z.int().positive().default(48),
  shots: z.int().min(1).max(32).default(8),
});

/** Parses a CLI-only block with the file's line numbers. */
function block<S extends z.ZodType>(
  schema: S,
  value: unknown,
  key: string,
  src: ConfigSource,
): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [key, ...issue.path.map(String)];
  const line = src.lineOf?.(path);
  throw new KeelError("KEEL_E_CONFIG", issue.message, {
    where: {
      ...(src.file ? { file: src.file } : {}),
      ...(line ? { line } : {}),
      field: path.join("."),
    },
  });
}

const SftRowSchema = z.object({ prompt: z.string(), completion: z.string() });
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

export interface Prepared {
  readonly run: (hooks: TrainHooks) => Promise<TrainResult>;
  readonly out: string;
  /** The config's data block: the files the run reads. */
  readonly data: DataSpec;
  /** The resolved trainer config (defaults filled in), as the run directory records it. */
  readonly config: { readonly seed: number } & Record<string, unknown>;
  /** Examples the run trains and evaluates on (PPO: prompts). */
  readonly counts: { readonly train: number; readonly eval: number };
  /** The checkpoints the run starts from or scores with, by config field (`scores`: as what). */
  readonly checkpoints: readonly Checkpointed[];
  /** A new model's tokenizer file (`model.tokenizer.file`). */
  readonly tokenizer?: string | undefined;
  readonly source: ConfigSource;
}

export interface Checkpointed {
  readonly field: string;
  readonly dir: string;
  /** Scores as a reward or cost model. */
  readonly scores?: ScorerKind;
  /** Is (or anchors) the policy, so must not be a reward or cost model. */
  readonly policy?: true;
}

/**
 * What a trainer trains and evaluates on: the given eval set, else its held-out share (split as
 * the trainer splits it: the pair trainers hold out whole prompts, `groupOf`).
 */
function counts<T>(
  train: readonly T[],
  ev: readonly unknown[] | undefined,
  evalFraction: number,
  seed: Seed,
  groupOf?: (x: T) => string,
) {
  if (ev) return { train: train.length, eval: ev.length };
  if (!groupOf) {
    const held = heldOutCount(train.length, evalFraction);
    return { train: train.length - held, eval: held };
  }
  const sets = splitEval(train, undefined, evalFraction, seed, groupOf);
  return { train: sets.train.length, eval: sets.eval.length };
}

const inits = (...c: [string, string | undefined, (ScorerKind | "policy")?][]): Checkpointed[] =>
  c.flatMap(([field, dir, role]) =>
    dir === undefined
      ? []
      : [
          {
            field,
            dir,
            ...(role === "policy" ? { policy: true as const } : role ? { scores: role } : {}),
          },
        ],
  );

/** The config's tokenizer file, when a new model reads one. */
const tokenizerFile = (c: { model: { tokenizer?: object | undefined } }): string | undefined =>
  c.model.tokenizer && "file" in c.model.tokenizer ? (c.model.tokenizer.file as string) : undefined;

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
  const need = (v: string | undefined, field: string) => {
    if (v) return v;
    throw new KeelError("KEEL_E_CONFIG", `data.${field} is required (or data.world)`, {
      where: { file, field: `data.${field}` },
    });
  };
  const evalOf = <T>(all: T[]) => all.slice(0, data.eval_count);
  const prepared = ((): Omit<Prepared, "data" | "source"> => {
    switch (trainer) {
      case "sft": {
        const c = parseSftConfig(rest, source);
        const train: SftExample[] = world
          ? sftCorpus(world)
          : readJsonl(need(data.train, "train"), SftRowSchema);
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
      case "rm":
      case "dpo": {
        const c = trainer === "rm" ? parseRmConfig(rest, source) : parseDpoConfig(rest, source);
        const train = world
          ? worldData(world).pairs
          : readPairs(need(data.train, "train"), data.weights);
        const ev = data.eval
          ? readPairs(data.eval)
          : world
            ? evalOf(evalPairs(world)).map((p) => ({
                ...p,
                group: evalPairFamily(p),
              }))
            : undefined;
        const d = { train, ...(ev ? { eval: ev } : {}) };
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
            trainer === "rm" ? trainRewardModel(c as never, d, h) : trainDpo(c as never, d, h),
        };
      }
      case "cost": {
        const c = parseCostConfig(rest, source);
        const all = world
          ? worldData(world).costPairs
          : readJsonl(need(data.train, "train"), CostRowSchema);
        const ev = data.eval
          ? readJsonl(data.eval, CostRowSchema)
          : world
            ? evalOf(evalPairs(world)).map((p) => ({
                ...p,
                chosen_safe: p.chosen_kind !== "unsafe",
                rejected_safe: p.rejected_kind !== "unsafe",
                group: evalPairFamily(p),
              }))
            : undefined;
        return {
          out,
          config: c,
          counts: counts(all, ev, c.train.eval_fraction, c.seed, promptKey),
          checkpoints: inits(["model.init", c.model.init]),
          tokenizer: tokenizerFile(c),
          run: (h) => trainCostModel(c, { train: all, ...(ev ? { eval: ev } : {}) }, h),
        };
      }
      case "ppo":
        return preparePpo(rest, source, out, data, world, sgRaw, rtRaw);
    }
  })();
  return { ...prepared, data, source };
}

function readPrompts(file: string, split: string | undefined): string[] {
  return readJsonl(file, promptRow)
    .filter((r) => split === undefined || r.split === undefined || r.split === split)
    .map((r) => r.text);
}

function preparePpo(
  rest: Record<string, unknown>,
  source: ConfigSource,
  out: string,
  data: DataSpec,
  world: World | undefined,
  sgRaw: unknown,
  rtRaw: unknown,
): Omit<Prepared, "data" | "source"> {
  const c = parsePpoConfig(rest, source);
  const sg = parseNested(["safeguards"], source, (src) => parseSafeguards(sgRaw ?? {}, src));
  if (sg.gold && !world) {
    // Refused here, before anything is written (and by --check), not when the monitors start.
    const line = source.lineOf?.(["safeguards", "gold"]);
    throw new KeelError(
      "KEEL_E_CONFIG",
      "gold-reward tracking needs a gold scorer, and this run has none",
      {
        where: {
          ...(source.file ? { file: source.file } : {}),
          ...(line ? { line } : {}),
          field: "safeguards.gold",
        },
        hint: "train on a synthetic world (data.world), whose oracle is the gold reward, or remove safeguards.gold",
      },
    );
  }
  if (!world && !data.prompts)
    throw new KeelError("KEEL_E_CONFIG", "data.prompts is required (or data.world)", {
      where: { ...(source.file ? { file: source.file } : {}), field: "data.prompts" },
    });
  const prompts = world
    ? promptsOf(world, data.split ?? "train").map((p) => p.content)
    : readPrompts(data.prompts!, data.split ?? "train");
  const evalPrompts = data.eval_prompts
    ? readPrompts(data.eval_prompts, undefined)
    : world
      ? promptsOf(world, "eval")
          .slice(0, data.eval_count ?? 200)
          .map((p) => p.content)
      : [];
  const gold = world
    ? (ps: readonly string[], rs: readonly string[]) => ps.map((p, i) => score(p, rs[i]!).quality)
    : undefined;
  let evaluate: PpoHooks["evaluate"];
  let rtConfig: z.output<typeof RedteamSchema> | undefined;
  if (rtRaw !== undefined) {
    if (!world)
      throw new KeelError("KEEL_E_CONFIG", "redteam needs data.world", {
        where: { field: "redteam" },
      });
    const rt = block(RedteamSchema, rtRaw, "redteam", source);
    rtConfig = rt;
    const probes = buildSuites(promptsOf(world, "redteam"), {
      perSuite: rt.per_suite,
      trigger: rt.trigger,
      seed: rt.seed,
      shots: rt.shots,
    });
    evaluate = async (policy) => {
      const { metrics, results } = await runRedteam(policy, probes, { batchSize: 64 });
      const benign = results.filter((r) => r.suite === "helpful" || r.suite === "over_refusal");
      const m: Metrics = {
        rt_attack_success: metrics.attack_success,
        rt_jailbreak_success: metrics.jailbreak_success,
        rt_triggered_attack_success: metrics.triggered_attack_success,
        rt_over_refusal: metrics.over_refusal,
        rt_helpfulness: metrics.helpfulness,
        rt_benign_helpful:
          benign.filter((r) => r.score.helpful).length / Math.max(benign.length, 1),
        rt_gold_quality:
          results.reduce((a, r) => a + r.score.quality, 0) / Math.max(results.length, 1),
        rt_mean_words: metrics.mean_words,
      };
      return m;
    };
  }
  return {
    out,
    config: { ...c, safeguards: sg, ...(rtRaw !== undefined ? { redteam: rtConfig } : {}) },
    counts: { train: prompts.length, eval: evalPrompts.length },
    checkpoints: inits(
      ["policy.init", c.policy.init, "policy"],
      ["reference.init", c.reference?.init, "policy"],
      ["reward.model", c.reward.model, "reward"],
      ["cost.model", c.cost?.model ?? undefined, "cost"],
    ),
    run: (h) =>
      trainPpo(
        c,
        { prompts, evalPrompts },
        {
          ...h,
          monitors: createSafeguards(sg, gold ? { gold } : {}),
          ...(evaluate ? { evaluate } : {}),
        },
      ),
  };
}
