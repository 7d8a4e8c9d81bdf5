/**
 * Preparing `keel train ppo`: the prompts (a world's or data.prompts), the safeguards that watch
 * the run (gold-reward tracking needs a world's oracle), and the optional red-team evaluation.
 */
import { parseNested } from "../../core/config.js";
import { KeelError } from "../../core/errors.js";
import { promptRow } from "../../io/prompts.js";
import { buildSuites, runRedteam } from "../../redteam/index.js";
import { createSafeguards, parseSafeguards } from "../../safeguards/index.js";
import {
  type ConfigSource,
  evaluationNeverRuns,
  type Metrics,
  type PpoHooks,
  parsePpoConfig,
  trainPpo,
} from "../../train/index.js";
import { promptsOf, score, type World } from "../../world/index.js";
import { readJsonl } from "./pair-files.js";
import { block, type DataSpec, RedteamSchema, type RedteamSpec } from "./train-config-blocks.js";
import { inits, type PrepareContext, type PreparedRun } from "./train-prepared.js";

function readPrompts(file: string, split: string | undefined): string[] {
  return readJsonl(file, promptRow)
    .filter((r) => split === undefined || r.split === undefined || r.split === split)
    .map((r) => r.text);
}

/** PPO's training and evaluation prompts: the world's, or data.prompts and data.eval_prompts. */
function ppoPrompts(
  data: DataSpec,
  world: World | undefined,
  source: ConfigSource,
): { prompts: string[]; evalPrompts: string[] } {
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
  return { prompts, evalPrompts };
}

/** The mean of `f` over `rows`; NaN (null in metrics.jsonl) for no row, never 0. */
const meanOf = <T>(rows: readonly T[], f: (r: T) => number): number =>
  rows.length === 0 ? Number.NaN : rows.reduce((a, r) => a + f(r), 0) / rows.length;

/**
 * PPO's evaluation hook: the world's red-team suites, each metric as `rt_<name>`. A world
 * whose redteam split yields no probe is refused here, before anything is written (and by
 * --check), as the pipeline's evaluate stage refuses it: every rt_ rate would be a rate over
 * nothing, logged as null at every evaluation of a run that looked measured.
 */
export function redteamEvaluate(
  world: World,
  rt: RedteamSpec,
  source: ConfigSource = {},
): NonNullable<PpoHooks["evaluate"]> {
  const probes = buildSuites(promptsOf(world, "redteam"), {
    perSuite: rt.per_suite,
    trigger: rt.trigger,
    triggerPosition: world.config.trigger.position,
    seed: rt.seed,
    shots: rt.shots,
  });
  if (probes.length === 0) {
    const line = source.lineOf?.(["redteam"]);
    throw new KeelError(
      "KEEL_E_CONFIG",
      `no red-team probe to run: no prompt of the world's ${world.prompts.length} fell in its redteam split`,
      {
        where: {
          ...(source.file ? { file: source.file } : {}),
          ...(line ? { line } : {}),
          field: "redteam",
        },
        hint: "give the world's prompts.splits.redteam a share (a split is a hash of each prompt's text, so a small pool can leave it empty), or more prompts; or remove the redteam block",
      },
    );
  }
  return async (policy) => {
    const { metrics, results } = await runRedteam(policy, probes, { batchSize: 64 });
    const benign = results.filter((r) => r.suite === "helpful" || r.suite === "over_refusal");
    const m: Metrics = {
      rt_attack_success: metrics.attack_success,
      rt_jailbreak_success: metrics.jailbreak_success,
      rt_triggered_attack_success: metrics.triggered_attack_success,
      rt_over_refusal: metrics.over_refusal,
      rt_helpfulness: metrics.helpfulness,
      // A world with no benign prompt in its split has no benign probe: no data, not 0.
      rt_benign_helpful: meanOf(benign, (r) => (r.score.helpful ? 1 : 0)),
      rt_gold_quality: meanOf(results, (r) => r.score.quality),
      rt_mean_words: metrics.mean_words,
    };
    return m;
  };
}

export function preparePpo(
  { rest, source, out, data, world }: PrepareContext,
  sgRaw: unknown,
  rtRaw: unknown,
): PreparedRun {
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
  const { prompts, evalPrompts } = ppoPrompts(data, world, source);
  const gold = world
    ? (ps: readonly string[], rs: readonly string[]) => ps.map((p, i) => score(p, rs[i]!).quality)
    : undefined;
  let evaluate: PpoHooks["evaluate"];
  let rtConfig: RedteamSpec | undefined;
  if (rtRaw !== undefined) {
    if (!world) {
      const line = source.lineOf?.(["redteam"]);
      throw new KeelError("KEEL_E_CONFIG", "redteam needs data.world", {
        where: {
          ...(source.file ? { file: source.file } : {}),
          ...(line ? { line } : {}),
          field: "redteam",
        },
      });
    }
    rtConfig = block(RedteamSchema, rtRaw, "redteam", source);
    if (evalPrompts.length === 0) {
      // The trainer refuses it too, without the config's line; --check must predict it.
      const line = source.lineOf?.(["redteam"]);
      throw evaluationNeverRuns({
        ...(source.file ? { file: source.file } : {}),
        ...(line ? { line } : {}),
        field: "redteam",
      });
    }
    evaluate = redteamEvaluate(world, rtConfig, source);
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
