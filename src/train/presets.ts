/**
 * Recommended sizes for keel's synthetic-world runs, chosen so that the whole demo (SFT base
 * policy, then twice a reward model and PPO, evaluation and red-team) fits the time budget on a
 * 2-core machine while the RLHF effects still show. Each preset gives the model, tokenizer and
 * world sizes and the trainer settings; the pipeline merges them into its configs. Measured
 * times are in docs/train.md.
 */
export type PresetName = "quick" | "demo";

export interface Preset {
  readonly description: string;
  /** World sizes the preset was tuned with. */
  readonly world: { readonly prompts: number; readonly comparisons: number; readonly sft: number };
  readonly tokenizer: { readonly vocab_size: number };
  readonly arch: {
    readonly d_model: number;
    readonly layers: number;
    readonly heads: number;
    readonly context: number;
  };
  readonly sft: {
    readonly train: { readonly epochs: number; readonly batch_size: number };
    readonly optim: { readonly lr: number; readonly warmup: number; readonly min_lr: number };
  };
  readonly rm: {
    readonly train: {
      readonly epochs: number;
      readonly batch_size: number;
      readonly centring: number;
    };
    readonly optim: { readonly lr: number; readonly warmup: number; readonly min_lr: number };
  };
  readonly ppo: {
    readonly rollout: { readonly batch_size: number; readonly max_new_tokens: number };
    readonly ppo: {
      readonly iterations: number;
      readonly epochs: number;
      readonly minibatch_size: number;
    };
    readonly kl: { readonly estimator: "k3"; readonly controller: "fixed"; readonly coef: number };
    readonly optim: { readonly lr: number };
  };
  readonly eval: { readonly per_suite: number; readonly max_new_tokens: number };
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  quick: {
    description: "keel demo --quick: under 3 minutes on 2 cores",
    world: { prompts: 1500, comparisons: 6000, sft: 2000 },
    tokenizer: { vocab_size: 1024 },
    arch: { d_model: 64, layers: 2, heads: 4, context: 128 },
    sft: { train: { epochs: 4, batch_size: 16 }, optim: { lr: 3e-3, warmup: 20, min_lr: 3e-4 } },
    rm: {
      train: { epochs: 1, batch_size: 32, centring: 0.01 },
      optim: { lr: 1e-3, warmup: 10, min_lr: 1e-4 },
    },
    ppo: {
      rollout: { batch_size: 32, max_new_tokens: 32 },
      ppo: { iterations: 20, epochs: 2, minibatch_size: 16 },
      kl: { estimator: "k3", controller: "fixed", coef: 0.05 },
      optim: { lr: 1e-4 },
    },
    eval: { per_suite: 30, max_new_tokens: 40 },
  },
  demo: {
    description: "keel demo: under 10 minutes on 2 cores",
    world: { prompts: 4000, comparisons: 20000, sft: 4000 },
    tokenizer: { vocab_size: 1024 },
    arch: { d_model: 128, layers: 2, heads: 4, context: 128 },
    sft: { train: { epochs: 6, batch_size: 16 }, optim: { lr: 2e-3, warmup: 30, min_lr: 2e-4 } },
    rm: {
      train: { epochs: 1, batch_size: 32, centring: 0.01 },
      optim: { lr: 5e-4, warmup: 20, min_lr: 5e-5 },
    },
    ppo: {
      rollout: { batch_size: 64, max_new_tokens: 40 },
      ppo: { iterations: 40, epochs: 2, minibatch_size: 16 },
      kl: { estimator: "k3", controller: "fixed", coef: 0.05 },
      optim: { lr: 1e-4 },
    },
    eval: { per_suite: 50, max_new_tokens: 48 },
  },
};

export function preset(name: PresetName): Preset {
  return PRESETS[name];
}
