/**
 * Recommended sizes for keel's synthetic-world pipeline, chosen so that the whole demo — SFT
 * base policy, then twice (undefended and defended) a reward model and PPO, then evaluation
 * and red-team — fits its time budget on a 2-core machine while the RLHF effects still show
 * (measured with `npm run bench:ppo -- --presets`; figures in docs/train.md).
 *
 * Each preset's trainer blocks have the shape of the trainer configs, so a caller spreads them:
 *   trainSft({ ...p.sft, model: { arch: p.arch, tokenizer: p.tokenizer } }, data, hooks)
 *   trainRewardModel({ ...p.rm, model: { init: sftDir } }, pairs, hooks)
 *   trainPpo({ ...p.ppo, policy: { init: sftDir }, reward: { model: rmDir } }, prompts, hooks)
 * and evaluates with `loadTextPolicy(dir, { maxNewTokens: p.eval.max_new_tokens })` over
 * `buildSuites(pool, { perSuite: p.eval.per_suite, ... })`.
 */
import type { DpoConfigInput } from "./dpo/dpoConfig.js";
import type { PpoConfigInput } from "./ppo/ppoConfig.js";
import type { RmConfigInput } from "./rm/rmConfig.js";
import type { SftConfigInput } from "./sft/sftConfig.js";

export type PresetName = "quick" | "demo";

export interface Preset {
  readonly description: string;
  /** World sizes the preset was tuned and timed with. */
  readonly world: { readonly prompts: number; readonly comparisons: number; readonly sft: number };
  readonly tokenizer: { readonly vocab_size: number };
  readonly arch: {
    readonly d_model: number;
    readonly layers: number;
    readonly heads: number;
    readonly context: number;
  };
  readonly sft: Omit<SftConfigInput, "model">;
  readonly rm: Omit<RmConfigInput, "model">;
  readonly ppo: Omit<PpoConfigInput, "policy">;
  readonly dpo: Omit<DpoConfigInput, "model">;
  readonly eval: { readonly per_suite: number; readonly max_new_tokens: number };
}

/** PPO settings shared by both presets (tuned on the world; see docs/train.md). */
const PPO_COMMON = {
  kl: { estimator: "k3", clamp: 10, controller: "fixed", coef: 0.2 },
  reward_norm: { enabled: true, clip: 5 },
  missing_eos_penalty: null,
  optim: { lr: 5e-5 },
} as const;

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  quick: {
    description:
      "keel demo --quick: the trainer stages in ~2 min on a busy 2-core machine (smoke run)",
    world: { prompts: 1500, comparisons: 6000, sft: 2000 },
    tokenizer: { vocab_size: 768 },
    arch: { d_model: 64, layers: 2, heads: 4, context: 96 },
    sft: {
      train: { epochs: 6, batch_size: 16 },
      optim: { lr: 3e-3, warmup: 20, min_lr: 3e-4, weight_decay: 0.05 },
      run: { log_every: 25 },
    },
    rm: {
      train: { steps: 150, batch_size: 32, centring: 0.01 },
      optim: { lr: 1e-3, warmup: 10, min_lr: 1e-4 },
      run: { log_every: 20 },
    },
    ppo: {
      ...PPO_COMMON,
      rollout: { batch_size: 32, max_new_tokens: 32 },
      ppo: { iterations: 32, epochs: 1, minibatch_size: 16 },
      run: { log_every: 1, eval_every: 0 },
    },
    dpo: { beta: 0.1, train: { steps: 100, batch_size: 16 }, optim: { lr: 1e-4, warmup: 10 } },
    eval: { per_suite: 30, max_new_tokens: 32 },
  },
  demo: {
    description: "keel demo: the trainer stages in ~7 min on a busy 2-core machine",
    world: { prompts: 4000, comparisons: 20000, sft: 4000 },
    tokenizer: { vocab_size: 1024 },
    arch: { d_model: 128, layers: 2, heads: 4, context: 128 },
    sft: {
      train: { epochs: 5, batch_size: 16 },
      optim: { lr: 2e-3, warmup: 30, min_lr: 2e-4, weight_decay: 0.05 },
      run: { log_every: 25 },
    },
    rm: {
      train: { steps: 150, batch_size: 32, centring: 0.01 },
      optim: { lr: 1e-3, warmup: 20, min_lr: 1e-4 },
      run: { log_every: 25 },
    },
    ppo: {
      ...PPO_COMMON,
      rollout: { batch_size: 64, max_new_tokens: 40 },
      ppo: { iterations: 30, epochs: 1, minibatch_size: 16 },
      run: { log_every: 1, eval_every: 0 },
    },
    dpo: { beta: 0.1, train: { steps: 300, batch_size: 16 }, optim: { lr: 1e-4, warmup: 20 } },
    eval: { per_suite: 50, max_new_tokens: 40 },
  },
};

export function preset(name: PresetName): Preset {
  return PRESETS[name];
}
