/**
 * The child process of resume-sigkill.test.ts: `tsx resume-child.ts <trainer> <init> <out>`
 * trains a tiny model with a checkpoint every 2 steps, and the test kills it with SIGKILL.
 * The same configs run in the test process for the uninterrupted run and the resume.
 */
import { createSafeguards, parseSafeguards } from "../../src/safeguards/index.js";
import type { TrainHooks, TrainResult } from "../../src/train/common/run.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";

const run = { log_every: 1, eval_every: 3, checkpoint_every: 2 };

export const TRAINERS: Record<string, (init: string, h: TrainHooks) => Promise<TrainResult>> = {
  sft: (init, h) =>
    trainSft(
      {
        model: { init },
        train: { steps: 12, batch_size: 2, packing: true, seq_len: 24 },
        optim: { lr: 1e-2, warmup: 2 },
        run,
      },
      {
        train: ["pick one", "say yes", "the sky is blue", "grass is green", "A"].map((p) => ({
          prompt: p,
          completion: p.slice(0, 3),
        })),
        eval: [{ prompt: "say yes", completion: "no" }],
      },
      h,
    ),
  ppo: (init, h) =>
    trainPpo(
      {
        policy: { init },
        rollout: { batch_size: 2, max_new_tokens: 4 },
        ppo: { iterations: 8, epochs: 2, minibatch_size: 1 },
        kl: { controller: "adaptive", target: 0.1 },
        optim: { lr: 1e-2 },
        run,
      },
      { prompts: ["pick one", "say yes", "hello", "A", "B"], evalPrompts: ["pick one"] },
      {
        ...h,
        reward: async (_p, r) => ({ score: Float64Array.from(r, (t) => t.length % 3) }),
        monitors: createSafeguards(
          parseSafeguards({
            length: { baseline_iters: 2, max_ratio: 1.01, min_ratio: 0.99 },
            ema: { decay: 0.9, max_drift: 1e-6 },
          }),
        ),
      },
    ),
};

const [trainer, init, out, ...stopAt] = process.argv.slice(2);
if (trainer && init && out) {
  const stop = stopAt.join(" ");
  await TRAINERS[trainer]!(init, {
    outDir: out,
    threads: 1,
    onProgress: (e) => {
      const line = `${e.phase} ${e.step}`;
      process.stdout.write(`${line}\n`);
      // Blocks this (only) thread, so nothing more of the run happens before the kill.
      if (line === stop) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    },
  });
}
