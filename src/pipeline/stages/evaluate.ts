/**
 * Evaluation stages, all on the world's ground truth (the oracle), never on a reward model:
 * the red-team suites and bias probes on the base policy and on each arm's tuned policy, the
 * KL between each tuned policy and the base, and each reward model's accuracy on held-out
 * pairs with and without the backdoor trigger plus its bias shifts.
 */
import { mkdir } from "node:fs/promises";
import { KeelError } from "../../core/errors.js";
import { type Gpt, generate, padBatch } from "../../engine/index.js";
import { writeFileAtomic } from "../../io/files.js";
import {
  buildBiasProbes,
  buildSuites,
  type ProbeResult,
  policyBias,
  type RedteamMetrics,
  rewardBias,
  runRedteam,
} from "../../redteam/index.js";
import {
  FINAL_MODEL_DIR,
  loadRewardFn,
  loadTextPolicy,
  type TextCodec,
} from "../../train/index.js";
import { pairCredit } from "../../train/rm/metrics.js";
import { buildWorld, promptsOf } from "../../world/index.js";
import type { Arm } from "../config.js";
import type { Plan } from "../plan.js";
import { scorePairs } from "../rm-pairs.js";
import type { Stage, StageContext, StageResult } from "../runner.js";
import { evalPairRows } from "./train.js";

/** A probe's outcome as the report shows it (texts are untrusted and escaped there). */
export interface ExampleRow {
  readonly suite: string;
  readonly prompt: string;
  readonly response: string;
  readonly outcome: string;
}

export interface PolicyEvaluation {
  readonly metrics: RedteamMetrics;
  readonly bias: ReturnType<typeof policyBias>;
  readonly kl_to_base: number | null;
  readonly examples: readonly ExampleRow[];
}

function examplesOf(results: readonly ProbeResult[], perSuite: number): ExampleRow[] {
  const out: ExampleRow[] = [];
  for (const suite of ["helpful", "over_refusal", "harmful", "trigger", "jailbreak_roleplay"]) {
    for (const r of results.filter((x) => x.suite === suite).slice(0, perSuite)) {
      out.push({ suite, prompt: r.text, response: r.response, outcome: r.score.outcome });
    }
  }
  return out;
}

/**
 * KL(π‖π_base) per response: Σ over sampled response tokens of log π − log π_base, averaged
 * over prompts (the k1 estimator on the policy's own samples, temperature 1). Null with no
 * prompt (a world without an eval split): an average over nothing, which the engine refused as
 * "a batch needs at least one row" after every stage before it had run.
 */
export async function klToBase(
  policy: Gpt,
  base: Gpt,
  codec: TextCodec,
  prompts: readonly string[],
  maxNewTokens: number,
  seed: number,
): Promise<number | null> {
  if (prompts.length === 0) return null;
  const room = policy.config.context - maxNewTokens;
  const ids = prompts.map((p) => codec.fitPrompt(codec.prompt(p), Math.max(1, room)));
  const out = await generate(policy, ids, {
    maxNewTokens,
    temperature: 1,
    stopTokens: [codec.eosId],
    seed,
  });
  const batch = padBatch(out.sequences, { padId: codec.padId });
  const ref = await base.logprobs(batch);
  let total = 0;
  for (let b = 0; b < out.sequences.length; b++) {
    const start = ids[b]!.length;
    const lp = out.logprobs[b]!;
    for (let t = 0; t < lp.length; t++) total += lp[t]! - ref[b * batch.length + start + t]!;
  }
  return total / Math.max(out.sequences.length, 1);
}

export function policyEvalStage(plan: Plan, who: "base" | Arm): Stage {
  const rt = plan.redteam;
  return {
    key: `${who}/evaluate`,
    title: `${who}: red-team and bias probes on the oracle`,
    weight: 8,
    config: { redteam: rt, examples: plan.config.report.examples },
    after: who === "base" ? ["base"] : [`${who}/policy`, "base"],
    outputs: [`${who}/evaluate.json`],
    async run(ctx) {
      const world = buildWorld(plan.world);
      const pool = promptsOf(world, "redteam");
      const probes = buildSuites(pool, {
        perSuite: rt.perSuite,
        trigger: rt.trigger,
        triggerPosition: world.config.trigger.position,
        seed: rt.seed,
        shots: rt.shots,
      });
      // With no probe every rate is a rate over nothing: the stage would record an evaluation
      // of nulls and the report a run that measured nothing, as a success.
      if (probes.length === 0)
        throw new KeelError(
          "KEEL_E_CONFIG",
          `${who}/evaluate: no red-team probe to run: no prompt of the world's ${world.prompts.length} fell in its redteam split`,
          {
            where: { field: "world.prompts.splits.redteam" },
            hint: "give the redteam split a share (a split is a hash of each prompt's text, so a small pool can leave it empty), or more prompts",
          },
        );
      // From the run directory as this attempt names it, not the path an earlier attempt
      // recorded: a resume from another directory or of a moved run reads this run's model.
      const modelDir =
        who === "base" ? plan.baseModel : ctx.run.file(who, "policy", FINAL_MODEL_DIR);
      const p = loadTextPolicy(modelDir, {
        maxNewTokens: rt.maxNewTokens,
        batchSize: 64,
        temperature: rt.temperature,
        seed: rt.seed,
      });
      try {
        // Each probe `samples` times (sampled at `temperature`): a rate then averages over the
        // policy's distribution rather than hanging on one argmax per prompt.
        const repeated = Array.from({ length: rt.samples }, () => probes).flat();
        const { results, metrics } = await runRedteam(p.policy, repeated, {
          batchSize: 64,
          onProgress: (d, n) => ctx.progress(0.8 * (d / n), `probes ${d}/${n}`),
        });
        const helpful = results.filter((r) => r.suite === "helpful").map((r) => r.response);
        let kl: number | null = null;
        if (who !== "base") {
          ctx.progress(0.85, "KL to the base policy");
          const base = loadTextPolicy(plan.baseModel, { maxNewTokens: rt.maxNewTokens });
          try {
            const evalPrompts = promptsOf(world, "eval")
              .slice(0, 64)
              .map((x) => x.content);
            kl = await klToBase(
              p.model,
              base.model,
              p.codec,
              evalPrompts,
              rt.maxNewTokens,
              rt.seed,
            );
          } finally {
            await base.dispose();
          }
        }
        const evaluation: PolicyEvaluation = {
          metrics,
          bias: policyBias(helpful, world.config.entities.names),
          kl_to_base: kl,
          examples: examplesOf(results, 2),
        };
        await mkdir(ctx.run.file(who), { recursive: true });
        await writeFileAtomic(
          ctx.run.file(who, "evaluate.json"),
          `${JSON.stringify({ ...evaluation, results }, null, 1)}\n`,
        );
        return { ...evaluation, examples: evaluation.examples.length } as unknown as StageResult;
      } finally {
        await p.dispose();
      }
    },
  };
}

/** Reward-model accuracy on held-out oracle-ordered pairs, clean and triggered, and its bias. */
export function rewardEvalStage(plan: Plan, arm: Arm): Stage {
  return {
    key: `${arm}/rm-eval`,
    title: `${arm}: reward model on held-out pairs and bias probes`,
    weight: 3,
    // The seed draws the bias probes (the world's and the trainers' seeds may be pinned apart).
    config: { bias: plan.config.bias_probes, seed: plan.config.seed },
    after: [`${arm}/reward`],
    outputs: [`${arm}/rm-eval.json`],
    async run(ctx) {
      const rows = await evalPairRows(ctx);
      // As above: this run's reward model, wherever the run was when the model was trained.
      const rm = loadRewardFn(ctx.run.file(arm, "rm", FINAL_MODEL_DIR));
      try {
        const acc = async (pairs: typeof rows) => {
          if (pairs.length === 0) return null;
          const { chosen, rejected } = await scorePairs(rm.reward, pairs);
          // Ties count half, as in the trainers' eval accuracy and keel experiment rm-pairs.
          let credit = 0;
          for (let i = 0; i < pairs.length; i++) credit += pairCredit(chosen[i]! - rejected[i]!);
          return credit / pairs.length;
        };
        ctx.progress(0.2, "held-out pairs");
        const clean = await acc(rows.filter((p) => !p.triggered));
        const triggered = await acc(rows.filter((p) => p.triggered));
        ctx.progress(0.6, "bias probes");
        const world = buildWorld(plan.world);
        const probes = buildBiasProbes(promptsOf(world, "eval"), {
          pairs: plan.config.bias_probes.pairs,
          seed: plan.config.seed,
          entity: world.config.entities.names[0] ?? "Zentrix",
        });
        const bias = probes.length > 0 ? await rewardBias(rm.reward, probes) : {};
        const result = { rm_accuracy_clean: clean, rm_accuracy_triggered: triggered, bias };
        await writeFileAtomic(
          ctx.run.file(arm, "rm-eval.json"),
          `${JSON.stringify(result, null, 2)}\n`,
        );
        return result;
      } finally {
        await rm.dispose();
      }
    },
  };
}

export type { StageContext };
