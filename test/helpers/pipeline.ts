/** The whole pipeline at a size a test can run: a small world, a one-layer model, PPO for two iterations. */
import { writeFileSync } from "node:fs";
import type { PipelineConfigInput } from "../../src/pipeline/config.js";
import type { Stage } from "../../src/pipeline/runner.js";

export const TINY_PIPELINE: PipelineConfigInput = {
  name: "tiny",
  seed: 3,
  preset: "quick",
  world: {
    prompts: { count: 400 },
    comparisons: { count: 500 },
    sft: { count: 300 },
    eval_pairs: { count: 60 },
  },
  base: {
    sft: {
      model: {
        arch: { d_model: 32, layers: 1, heads: 2, context: 64 },
        tokenizer: { vocab_size: 300 },
      },
      train: { epochs: 1, batch_size: 16 },
    },
  },
  reward_model: { train: { epochs: 1, batch_size: 32 } },
  policy: {
    ppo: {
      ppo: { iterations: 2, epochs: 1, minibatch_size: 8 },
      rollout: { batch_size: 8, max_new_tokens: 8 },
    },
  },
  redteam: { per_suite: 3, max_new_tokens: 8 },
  bias_probes: { pairs: 3 },
  report: { examples: 1 },
};

/** A stage that writes `text` to `<key>.txt` (its config, so a changed text runs it again). */
export function textStage(key: string, text: string): Stage {
  return {
    key,
    title: key,
    weight: 1,
    config: { text },
    after: [],
    outputs: [`${key}.txt`],
    async run(ctx) {
      writeFileSync(ctx.run.file(`${key}.txt`), text);
      return {};
    },
  };
}

/** TINY_PIPELINE smaller still: about four seconds of stages (the crash and lock tests' runs). */
export const SMALL_PIPELINE: PipelineConfigInput = {
  ...TINY_PIPELINE,
  world: {
    prompts: { count: 200 },
    comparisons: { count: 150 },
    sft: { count: 100 },
    eval_pairs: { count: 30 },
  },
  base: { sft: { ...TINY_PIPELINE.base!.sft!, train: { steps: 4, batch_size: 8 } } },
  reward_model: { train: { steps: 4, batch_size: 16 } },
  policy: {
    ppo: {
      ppo: { iterations: 1, epochs: 1, minibatch_size: 8 },
      rollout: { batch_size: 8, max_new_tokens: 8 },
    },
  },
  redteam: { per_suite: 2, max_new_tokens: 4 },
};
