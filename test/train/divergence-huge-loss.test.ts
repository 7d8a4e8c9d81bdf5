/**
 * Runs whose loss stays finite but leaves any sane range (docs/train.md, "Optimizer and
 * schedule"): at lr 1e2 (clipped to norm 1, as by default) the first update makes the second
 * step's loss 1e3–1e5 times its start, and a run that went on would finish and save a destroyed
 * model (a DPO loss falls back to 0 while every log-probability is −1e5). Each trainer stops
 * at that step with KEEL_E_NUMERIC naming the step, the loss, the bound (100 × the loss of a
 * know-nothing model on the same batch) and the run's latest checkpoint, and ends its log with
 * the failed summary. A run that strays but is not diverged (SFT at lr 1, whose loss peaks at 9
 * × ln V) is not stopped.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { ParamStore } from "../../src/engine/params.js";
import {
  crossEntropyCeiling,
  DIVERGENCE_FACTOR,
  optimizerStep,
} from "../../src/train/common/numeric.js";
import { readMetrics } from "../../src/train/common/run.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the run completed");
}

const optim = { lr: 1e2, warmup: 0 };
const run = { log_every: 1, checkpoint_every: 1 };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
  { prompt: "the sky is", chosen: "blue", rejected: "green" },
];
const sftData = {
  train: [
    { prompt: "pick one", completion: "A" },
    { prompt: "say yes", completion: "yes" },
    { prompt: "the sky is", completion: "blue" },
    { prompt: "grass is", completion: "green" },
  ],
};
const NUM = String.raw`\d+(\.\d+)?(e\+\d+)?`;
/** ln of the tiny model's vocabulary (264), as the bound shows it. */
const LN_V = "5.57595";

/** What a run stopped after step `last` leaves: its failed summary, a checkpoint, no model. */
function expectStoppedAfter(out: string, e: KeelError, last: number): void {
  expect(e.code).toBe("KEEL_E_NUMERIC");
  expect(e.hint).toContain(`its latest checkpoint is step ${last}`);
  expect(existsSync(join(out, "model"))).toBe(false);
  expect(readMetrics(out).at(-1)).toMatchObject({
    type: "summary",
    status: "failed",
    code: "KEEL_E_NUMERIC",
    step: last,
    message: e.message,
  });
}

describe("a finite loss far above its know-nothing value stops the run", () => {
  it("sft: 100 × ln V", async () => {
    const out = tmp("huge-sft");
    const e = await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("huge-init")) },
          train: { steps: 6, batch_size: 2 },
          optim,
          run,
        },
        sftData,
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.message).toMatch(
      new RegExp(
        `^sft step 2: the loss is ${NUM}, above the divergence bound 100 × ${LN_V} = 557\\.595 ` +
          `\\(ln 264, a uniform guess over the vocabulary\\)$`,
      ),
    );
    expectStoppedAfter(out, e, 1);
  });

  it("sft at lr 1 strays (9 × ln V at its peak) and completes", async () => {
    const peak = { loss: 0 };
    const r = await trainSft(
      {
        model: { init: tinyCheckpoint(tmp("huge-init")) },
        train: { steps: 12, batch_size: 2 },
        optim: { lr: 1, warmup: 0 },
      },
      sftData,
      {
        threads: 1,
        onProgress: (p) => {
          if (p.phase === "train") peak.loss = Math.max(peak.loss, p.metrics.loss!);
        },
      },
    );
    expect(r.status).toBe("completed");
    expect(peak.loss).toBeGreaterThan(5 * Math.log(264));
  });

  it("reward and cost models: 100 × the batch's loss with every score 0", async () => {
    const config = {
      model: { init: tinyCheckpoint(tmp("huge-init")) },
      train: { steps: 8, batch_size: 2 },
      optim,
      run,
    };
    const out = tmp("huge-rm");
    const e = await failure(
      trainRewardModel(config, { train: pairs }, { outDir: out, threads: 1 }),
    );
    expect(e.message).toMatch(
      new RegExp(
        `^rm step (\\d+) \\(member-0\\): the loss is ${NUM}, above the divergence bound ` +
          "100 × 0\\.693147 = 69\\.3147 \\(the batch's bradley_terry loss with every score 0\\)$",
      ),
    );
    const step = Number(/^rm step (\d+)/.exec(e.message)![1]);
    expectStoppedAfter(out, e, step - 1);

    const costOut = tmp("huge-cost");
    const ce = await failure(
      trainCostModel(
        config,
        { train: pairs.map((p, i) => ({ ...p, chosen_safe: true, rejected_safe: i % 2 === 1 })) },
        { outDir: costOut, threads: 1 },
      ),
    );
    expect(ce.message).toMatch(
      new RegExp(
        `^cost step 2 \\(member-0\\): the loss is ${NUM}, above the divergence bound ` +
          "100 × 2\\.07944 = 207\\.944 \\(the batch's safe_rlhf_cost loss with every score 0\\)$",
      ),
    );
    expectStoppedAfter(costOut, ce, 1);
  });

  it("dpo: 100 × the loss with the policy equal to the reference", async () => {
    const out = tmp("huge-dpo");
    const e = await failure(
      trainDpo(
        {
          model: { init: tinyCheckpoint(tmp("huge-init")) },
          train: { steps: 6, batch_size: 2 },
          optim,
          run,
        },
        { train: pairs },
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.message).toMatch(
      new RegExp(
        `^dpo step 2: the loss is ${NUM}, above the divergence bound 100 × 0\\.693147 = ` +
          "69\\.3147 \\(the batch's sigmoid loss with the policy equal to the reference\\)$",
      ),
    );
    expectStoppedAfter(out, e, 1);
  });

  it("dpo: the chosen responses' NLL, where a small β keeps the loss near ln 2", async () => {
    // β = 1e-4: log-probs of −1e5 move βh by ~10, and the loss stays below its bound
    const out = tmp("huge-dpo-nll");
    const e = await failure(
      trainDpo(
        {
          model: { init: tinyCheckpoint(tmp("huge-init")) },
          beta: 1e-4,
          train: { steps: 6, batch_size: 2 },
          optim,
          run,
        },
        { train: pairs },
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.message).toMatch(
      new RegExp(
        `^dpo step 2: the chosen responses' NLL per token is ${NUM}, above the divergence ` +
          `bound 100 × ${LN_V} = 557\\.595 \\(ln 264, a uniform guess over the vocabulary\\)$`,
      ),
    );
    expectStoppedAfter(out, e, 1);
  });

  it("ppo: the value loss, against the scale of old values, returns and value clip", async () => {
    const out = tmp("huge-ppo");
    const e = await failure(
      trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("huge-init")) },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 2, minibatch_size: 1 },
          optim,
          run,
        },
        { prompts: ["pick one", "say yes"] },
        {
          outDir: out,
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toMatch(
      new RegExp(
        `^ppo iteration 1, epoch 1, minibatch 2: the value_loss is ${NUM}, above the ` +
          `divergence bound 100 × ${NUM} = ${NUM} \\(½·mean \\(\\|old value\\| \\+ \\|return\\| ` +
          "\\+ value_clip\\)² over the minibatch's tokens\\)$",
      ),
    );
    expect(existsSync(join(out, "model"))).toBe(false);
  });
});

describe("optimizerStep's ceiling", () => {
  const setup = () => {
    const ps = new ParamStore([{ name: "w", shape: [3], init: "zeros" }], "float64");
    return { ps, opt: new AdamW(ps, { lr: 0.1 }), grad: ps.zerosLike().fill(1) };
  };
  const c = crossEntropyCeiling(264);

  it("lets a loss at the bound through, and refuses one above it before any update", () => {
    const { ps, opt, grad } = setup();
    const limit = DIVERGENCE_FACTOR * Math.log(264);
    optimizerStep(opt, grad, 0.1, "sft step 1", { loss: limit }, { loss: c });
    expect(opt.t).toBe(1);
    const before = Array.from(ps.flat);
    expect(() =>
      optimizerStep(opt, grad, 0.1, "sft step 2", { loss: limit * 1.001 }, { loss: c }),
    ).toThrow(
      expect.objectContaining({
        code: "KEEL_E_NUMERIC",
        hint: expect.stringMatching(/lower optim\.lr/),
      }),
    );
    expect(Array.from(ps.flat)).toEqual(before);
    expect(opt.t).toBe(1);
  });

  it("blames the starting model, not the learning rate, before the first update", () => {
    const { opt, grad } = setup();
    expect(() => optimizerStep(opt, grad, 0.1, "sft step 1", { loss: 1e6 }, { loss: c })).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/no update had been made yet/) }),
    );
  });
});
