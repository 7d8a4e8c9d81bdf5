/**
 * Kill-and-resume for every trainer and configuration resume.test.ts leaves out, killed at the
 * points where a resume is most likely to go wrong: mid-epoch, exactly at an epoch boundary,
 * right after a checkpoint, after the last step but before the final save, and during an
 * evaluation. Each resumed run must end with the uninterrupted run's metrics.jsonl (wall-clock
 * fields aside), line for line, the same final weights bit for bit, and no step logged twice
 * or missing.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { createSafeguards, parseSafeguards } from "../../src/safeguards/index.js";
import type { ProgressEvent, TrainHooks, TrainResult } from "../../src/train/common/run.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { DPO_LOSS_TYPES } from "../../src/train/losses/dpo.js";
import { type PpoHooks, trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp, untimed, untimedLines } from "./fixtures.js";

const strip = untimed;
const lines = untimedLines;

class Crash extends Error {}

function bytes(dir: string): Buffer {
  const m = loadCheckpoint(dir).model;
  const b = Buffer.from(m.params.flat.buffer, m.params.flat.byteOffset, m.params.flat.byteLength);
  const copy = Buffer.from(b);
  void m.dispose();
  return copy;
}

/** The steps of the train records (each once, in order). */
function trainSteps(dir: string): number[] {
  return lines(dir)
    .map((l) => JSON.parse(l) as { type: string; step: number })
    .filter((r) => r.type === "train")
    .map((r) => r.step);
}

type Run = (hooks: TrainHooks) => Promise<TrainResult>;

const wholeRuns = new Map<Run, { dir: string; result: TrainResult }>();
async function whole(run: Run) {
  let w = wholeRuns.get(run);
  if (!w) {
    const dir = tmp("whole");
    w = { dir, result: await run({ outDir: dir, threads: 1 }) };
    wholeRuns.set(run, w);
  }
  return w;
}

async function killAndResume(
  run: Run,
  kill: (e: ProgressEvent) => boolean,
  resumeFrom: number,
  weights: (r: TrainResult) => string[],
) {
  const a = await whole(run);
  const b = tmp("killed");
  await expect(
    run({
      outDir: b,
      threads: 1,
      onProgress: (e) => {
        if (kill(e)) throw new Crash("killed");
      },
    }),
  ).rejects.toThrow(Crash);
  let first: number | undefined;
  const resumed = await run({
    outDir: b,
    threads: 1,
    resume: true,
    onProgress: (e) => {
      if (e.phase !== "eval") first ??= e.step;
    },
  });
  expect(resumed.status).toBe(a.result.status);
  expect(first).toBe(resumeFrom + 1);
  expect(strip(resumed.metrics)).toEqual(strip(a.result.metrics));
  expect(lines(b)).toEqual(lines(a.dir));
  const steps = trainSteps(b);
  expect(new Set(steps).size).toBe(steps.length);
  const wa = weights(a.result);
  const wb = weights(resumed);
  wa.forEach((d, i) => {
    expect(bytes(wb[i]!).equals(bytes(d))).toBe(true);
  });
}

const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B", weight: 1 },
  { prompt: "say yes", chosen: "yes", rejected: "no", weight: 0.5 },
  { prompt: "pick one", chosen: "C", rejected: "D", weight: 2 },
  { prompt: "say yes", chosen: "yes", rejected: "B", weight: 0 },
];
const evalPairs = pairs.slice(0, 2).map((p) => ({ ...p, weight: 1 }));
// 4 pairs, batch 2: an epoch is 2 steps; checkpoints every 3 steps; eval every 2.
const run = { log_every: 1, eval_every: 2, checkpoint_every: 3 };
const step = (n: number, phase?: string) => (e: ProgressEvent) =>
  e.step === n && (phase === undefined || e.phase === phase);
const ck = (r: TrainResult) => [r.checkpoint!];

describe("sft", () => {
  const init = tinyCheckpoint(tmp("init"));
  const data = {
    train: [
      ...pairs.map((p) => ({ prompt: p.prompt, completion: p.chosen })),
      { prompt: "the sky is blue", completion: "grass is green" },
    ],
    eval: pairs.slice(0, 2).map((p) => ({ prompt: p.prompt, completion: p.rejected })),
  };
  for (const packing of [false, true]) {
    const sft: Run = (h) =>
      trainSft(
        {
          model: { init },
          train: { steps: 7, batch_size: 2, packing, seq_len: 24 },
          optim: { lr: 1e-2, warmup: 2 },
          run,
        },
        data,
        h,
      );
    it(`packing ${packing}: killed at an epoch boundary`, async () => {
      await killAndResume(sft, step(4), 3, ck);
    });
    it(`packing ${packing}: killed during an eval`, async () => {
      await killAndResume(sft, step(6, "eval"), 3, ck);
    });
    it(`packing ${packing}: killed after the last step, before the final save`, async () => {
      await killAndResume(sft, step(7), 6, ck);
    });
  }
});

describe("reward and cost models", () => {
  const init = tinyCheckpoint(tmp("init"));
  const rm =
    (more: Record<string, unknown>, ensemble = 1): Run =>
    (h) =>
      trainRewardModel(
        {
          model: { init },
          train: { steps: 5, batch_size: 2, ...more },
          ensemble: { size: ensemble, ...(ensemble > 1 ? { bootstrap: true } : {}) },
          optim: { lr: 1e-2 },
          run,
        },
        { train: pairs, eval: evalPairs },
        h,
      );
  const members = (k: number) => (r: TrainResult) =>
    Array.from({ length: k }, (_, m) => join(r.checkpoint!, `member-${m}`));
  it("weights, lm_coef and label smoothing: killed mid-epoch", async () => {
    await killAndResume(rm({ lm_coef: 0.5, label_smoothing: 0.1 }), step(5), 3, members(1));
  });
  it("an ensemble of 3, killed at a member boundary (after member 0's last step)", async () => {
    await killAndResume(rm({}, 3), step(5), 3, members(3));
  });
  it("an ensemble of 3, killed at the first step of the last member", async () => {
    await killAndResume(rm({}, 3), step(11), 9, members(3));
  });
  it("an ensemble of 3, killed during the last member's last eval", async () => {
    await killAndResume(rm({}, 3), step(15, "eval"), 12, members(3));
  });
  it("cost model", async () => {
    const costPairs = pairs.map((p, i) => ({
      ...p,
      chosen_safe: true,
      rejected_safe: i % 2 === 0,
    }));
    const cost: Run = (h) =>
      trainCostModel(
        {
          model: { init },
          train: { steps: 5, batch_size: 2 },
          optim: { lr: 1e-2 },
          run,
        },
        { train: costPairs, eval: costPairs },
        h,
      );
    await killAndResume(cost, step(4), 3, members(1));
  });
});

describe("dpo", () => {
  const init = tinyCheckpoint(tmp("init"));
  const reference = tinyCheckpoint(tmp("ref"), 2);
  for (const loss of DPO_LOSS_TYPES) {
    it(`${loss} with a reference model`, async () => {
      const smoothed = loss === "cdpo" || loss === "robust";
      const dpo: Run = (h) =>
        trainDpo(
          {
            model: { init },
            reference: { init: reference },
            loss,
            ...(smoothed ? { label_smoothing: 0.2 } : {}),
            train: { steps: 5, batch_size: 2 },
            optim: { lr: 1e-2 },
            run,
          },
          { train: pairs, eval: evalPairs },
          h,
        );
      await killAndResume(dpo, step(4), 3, ck);
    });
  }
});

describe("ppo", () => {
  const init = tinyCheckpoint(tmp("init"));
  const prompts = ["pick one", "say yes", "pick one", "say yes", "hello", "A"];
  const base = {
    policy: { init },
    rollout: { batch_size: 2, max_new_tokens: 4 },
    ppo: { iterations: 5, epochs: 2, minibatch_size: 1 },
    optim: { lr: 1e-2 },
    run,
  };
  const reward = async (_p: readonly string[], r: readonly string[]) => ({
    score: Float64Array.from(r, (t) => t.length % 3),
  });
  const cost = async (_p: readonly string[], r: readonly string[]) => ({
    score: Float64Array.from(r, (t) => (t.includes("A") ? 1 : -0.5)),
  });
  const gold = (_p: readonly string[], r: readonly string[]) => r.map((t) => -t.length);
  const ppo =
    (more: Record<string, unknown>, safeguards?: Record<string, unknown>): Run =>
    (h) =>
      trainPpo(
        { ...base, ...more } as Parameters<typeof trainPpo>[0],
        { prompts, evalPrompts: ["pick one"] },
        {
          ...h,
          reward,
          cost,
          ...(safeguards
            ? { monitors: createSafeguards(parseSafeguards(safeguards), { gold }) }
            : {}),
        } satisfies PpoHooks,
      );
  it("fixed KL, killed at an epoch boundary of the prompts", async () => {
    await killAndResume(ppo({ kl: { controller: "fixed", coef: 0.1 } }), step(4), 3, ck);
  });
  it("Lagrangian mode with a cost model and a cost critic", async () => {
    const r = ppo({ cost: { threshold: 0, lambda_lr: 0.5 } });
    await killAndResume(r, step(5), 3, (x) => [x.checkpoint!]);
  });
  it("EMA policy, gold tracking, length and KL budget safeguards", async () => {
    const r = ppo(
      { kl: { controller: "adaptive", target: 0.1 } },
      {
        kl_budget: { max: 0.01, action: "warn" },
        length: { baseline_iters: 1, max_ratio: 1.01, min_ratio: 0.99 },
        gold: { max_drop: 0.01 },
        ema: { decay: 0.5, max_drift: 1e-9 },
      },
    );
    await killAndResume(r, step(5), 3, (x) => [x.checkpoint!, `${x.checkpoint!}-ema`]);
  });
  it("early stop on the KL target, killed during an eval", async () => {
    await killAndResume(ppo({ ppo: { ...base.ppo, target_kl: 1e-6 } }), step(4, "eval"), 3, ck);
  });
});
