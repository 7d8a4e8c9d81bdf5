/** The whole pipeline at a size a test can run: a small world, a one-layer model, PPO for two iterations. */
import type { PipelineConfigInput } from "../../src/pipeline/config.js";

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
