/**
 * Kill-and-resume: a run that dies mid-training (simulated by a progress callback that throws,
 * so nothing is saved at the moment of death) and is resumed from its last periodic checkpoint
 * ends with the same weights, bit for bit, and the same metrics as an uninterrupted run.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { createSafeguards, parseSafeguards } from "../../src/safeguards/index.js";
import type { TrainHooks, TrainResult } from "../../src/train/common/run.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { type PpoHooks, trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp, untimed, untimedLines } from "./fixtures.js";

const strip = untimed;
const log = (dir: string) => untimedLines(dir).map((l) => JSON.parse(l) as Record<string, unknown>);

class Crash extends Error {}

async function killAndResume(
  run: (hooks: TrainHooks) => Promise<TrainResult>,
  killAt: number,
  resumeFrom: number,
  weights: (r: TrainResult) => string,
) {
  const a = tmp("whole");
  const whole = await run({ outDir: a, threads: 1 });
  const b = tmp("killed");
  await expect(
    run({
      outDir: b,
      threads: 1,
      onProgress: (e) => {
        if (e.step === killAt) throw new Crash("killed");
      },
    }),
  ).rejects.toThrow(Crash);
  let first: number | undefined;
  const resumed = await run({
    outDir: b,
    threads: 1,
    resume: true,
    onProgress: (e) => {
      first ??= e.step;
    },
  });
  expect(resumed.status).toBe("completed");
  // It really continued from the last checkpoint before the kill, not from the start.
  expect(first).toBe(resumeFrom + 1);
  expect(strip(resumed.metrics)).toEqual(strip(whole.metrics));
  expect(log(b)).toEqual(log(a));
  const wa = loadCheckpoint(weights(whole)).model;
  const wb = loadCheckpoint(weights(resumed)).model;
  expect(
    Buffer.from(wb.params.flat.buffer, wb.params.flat.byteOffset, wb.params.flat.byteLength).equals(
      Buffer.from(wa.params.flat.buffer, wa.params.flat.byteOffset, wa.params.flat.byteLength),
    ),
  ).toBe(true);
  await wa.dispose();
  await wb.dispose();
}

const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
  { prompt: "say yes", chosen: "yes", rejected: "B" },
];
const run = { log_every: 1, eval_every: 3, checkpoint_every: 2 };

describe("a killed run resumed from its checkpoint equals an uninterrupted one", () => {
  it("sft", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const data = {
      train: pairs.map((p) => ({ prompt: p.prompt, completion: p.chosen })),
      eval: pairs.slice(0, 2).map((p) => ({ prompt: p.prompt, completion: p.rejected })),
    };
    await killAndResume(
      (h) =>
        trainSft(
          {
            model: { init },
            train: { steps: 7, batch_size: 2 },
            optim: { lr: 1e-2, warmup: 2 },
            run,
          },
          data,
          h,
        ),
      5,
      4,
      (r) => r.checkpoint!,
    );
  });
  it("reward-model ensemble (dies in the second member)", async () => {
    const init = tinyCheckpoint(tmp("init"));
    await killAndResume(
      (h) =>
        trainRewardModel(
          {
            model: { init },
            train: { steps: 4, batch_size: 2 },
            ensemble: { size: 2, bootstrap: true },
            run,
          },
          { train: pairs, eval: pairs },
          h,
        ),
      7,
      6,
      (r) => join(r.checkpoint!, "member-1"),
    );
  });
  it("dpo", async () => {
    const init = tinyCheckpoint(tmp("init"));
    await killAndResume(
      (h) =>
        trainDpo(
          { model: { init }, train: { steps: 7, batch_size: 2 }, run },
          { train: pairs, eval: pairs },
          h,
        ),
      5,
      4,
      (r) => r.checkpoint!,
    );
  });
  it("ppo with adaptive KL, reward normalisation and stateful safeguards", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const monitors = () =>
      createSafeguards(
        parseSafeguards({
          kl_budget: { max: 100 },
          length: { baseline_iters: 2 },
          ema: { decay: 0.9, max_drift: 1e-6 },
        }),
      );
    await killAndResume(
      (h) =>
        trainPpo(
          {
            policy: { init },
            rollout: { batch_size: 4, max_new_tokens: 4 },
            ppo: { iterations: 7, epochs: 2, minibatch_size: 2, ent_coef: 0.01 },
            kl: { controller: "adaptive", target: 0.5 },
            optim: { lr: 1e-2 },
            run,
          },
          {
            prompts: ["pick one", "say yes", "pick one", "say yes", "hello"],
            evalPrompts: ["pick one"],
          },
          {
            ...h,
            monitors: monitors(),
            reward: async (_p, r) => ({ score: Float64Array.from(r, (t) => t.length % 3) }),
          } satisfies PpoHooks,
        ),
      5,
      4,
      (r) => r.checkpoint!,
    );
  });
});
