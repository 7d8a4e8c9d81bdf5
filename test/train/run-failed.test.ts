/**
 * A run that an error stops after its run directory is open ends metrics.jsonl with a summary
 * of status "failed" holding the error's code and message, so that `endedAs` tells it from a
 * killed run (no summary, undefined). Writing that line is best effort: when the log cannot take
 * it, the error that stopped the run still propagates as it was. A divergence after a
 * checkpoint says where the checkpoint is and how a run with a lower lr can start from it (a
 * resume keeps the run's own lr: it refuses another).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/core/errors.js";
import { endedAs, readMetrics } from "../../src/train/common/run.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("the run completed");
}

const diverging = { lr: 1e20, warmup: 0, max_grad_norm: null };
const sftData = {
  train: [
    { prompt: "pick one", completion: "A" },
    { prompt: "say yes", completion: "yes" },
  ],
};
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
];
const lastLine = (out: string) =>
  JSON.parse(readFileSync(join(out, "metrics.jsonl"), "utf8").trimEnd().split("\n").at(-1)!);

describe("a run stopped by an error ends its log with a failed summary", () => {
  it("sft divergence: status, code, message and the last completed step; endedAs says failed", async () => {
    const out = tmp("fail-sft");
    const e = (await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("fail-init")) },
          train: { steps: 4, batch_size: 2 },
          optim: diverging,
          run: { log_every: 1, checkpoint_every: 1 },
        },
        sftData,
        { outDir: out, threads: 1 },
      ),
    )) as KeelError;
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(lastLine(out)).toMatchObject({
      type: "summary",
      step: 1,
      status: "failed",
      code: "KEEL_E_NUMERIC",
      message: "sft step 2: the loss is NaN",
    });
    expect(endedAs(out)).toBe("failed");
  });

  it("reward model, dpo and ppo write it too", async () => {
    const init = tinyCheckpoint(tmp("fail-init"));
    const rmOut = tmp("fail-rm");
    await failure(
      trainRewardModel(
        { model: { init }, train: { steps: 4, batch_size: 3 }, optim: diverging },
        { train: pairs },
        { outDir: rmOut, threads: 1 },
      ),
    );
    expect(lastLine(rmOut)).toMatchObject({
      status: "failed",
      message: "rm step 2 (member-0): the loss is NaN",
    });
    const dpoOut = tmp("fail-dpo");
    await failure(
      trainDpo(
        { model: { init }, train: { steps: 4, batch_size: 3 }, optim: diverging },
        { train: pairs },
        { outDir: dpoOut, threads: 1 },
      ),
    );
    expect(lastLine(dpoOut)).toMatchObject({
      status: "failed",
      message: "dpo step 2: the loss is NaN",
    });
    const ppoOut = tmp("fail-ppo");
    await failure(
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 1, minibatch_size: 1 },
          optim: diverging,
        },
        { prompts: ["pick one", "say yes"] },
        {
          outDir: ppoOut,
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    );
    expect(lastLine(ppoOut)).toMatchObject({ step: 0, status: "failed", code: "KEEL_E_NUMERIC" });
    for (const out of [rmOut, dpoOut, ppoOut]) expect(endedAs(out)).toBe("failed");
  });

  it("any error thrown in the loop: a plain Error is recorded as KEEL_E_INTERNAL with its message", async () => {
    const out = tmp("fail-throw");
    const boom = new Error("the progress display broke");
    const e = await failure(
      trainSft(
        { model: { init: tinyCheckpoint(tmp("fail-init")) }, train: { steps: 4, batch_size: 2 } },
        sftData,
        {
          outDir: out,
          threads: 1,
          onProgress: (p) => {
            if (p.step === 2) throw boom;
          },
        },
      ),
    );
    expect(e).toBe(boom);
    expect(lastLine(out)).toMatchObject({
      type: "summary",
      step: 2,
      status: "failed",
      code: "KEEL_E_INTERNAL",
      message: "the progress display broke",
    });
  });

  it("a log that cannot take the summary: the original error propagates unchanged", async () => {
    const out = tmp("fail-nolog");
    const boom = new Error("stopped after the log went away");
    const e = await failure(
      trainSft(
        { model: { init: tinyCheckpoint(tmp("fail-init")) }, train: { steps: 4, batch_size: 2 } },
        sftData,
        {
          outDir: out,
          threads: 1,
          onProgress: (p) => {
            if (p.step !== 2) return;
            // A directory where the log was: appending to it fails, for root too.
            rmSync(join(out, "metrics.jsonl"));
            mkdirSync(join(out, "metrics.jsonl"));
            throw boom;
          },
        },
      ),
    );
    expect(e).toBe(boom);
  });

  it("a killed run (no summary) is still not ended; a completed one is completed", async () => {
    const out = tmp("fail-killed");
    const r = await trainSft(
      { model: { init: tinyCheckpoint(tmp("fail-init")) }, train: { steps: 2, batch_size: 2 } },
      sftData,
      { outDir: out, threads: 1 },
    );
    expect(r.status).toBe("completed");
    expect(endedAs(out)).toBe("completed");
    const path = join(out, "metrics.jsonl");
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    writeFileSync(path, `${lines.slice(0, -1).join("\n")}\n`);
    expect(endedAs(out)).toBeUndefined();
  });
});

describe("a failed run and --resume", () => {
  const config = (run: Record<string, number>) => ({
    model: { init: tinyCheckpoint(tmp("fail-init")) },
    train: { steps: 4, batch_size: 2 },
    run: { log_every: 1, checkpoint_every: 1, ...run },
  });

  it("resumes from its latest checkpoint; the failure is cut from the log with the steps after it", async () => {
    const out = tmp("fail-resume");
    const c = config({});
    await failure(
      trainSft(c, sftData, {
        outDir: out,
        threads: 1,
        onProgress: (p) => {
          if (p.step === 3) throw new Error("the machine was needed elsewhere");
        },
      }),
    );
    expect(endedAs(out)).toBe("failed");
    const r = await trainSft(c, sftData, { outDir: out, threads: 1, resume: true });
    expect(r.status).toBe("completed");
    expect(endedAs(out)).toBe("completed");
    const records = readMetrics(out);
    expect(records.filter((x) => x.type === "summary").map((x) => x.status)).toEqual(["completed"]);
    expect(records.filter((x) => x.type === "train").map((x) => x.step)).toEqual([1, 2, 3, 4]);
  });

  it("a refused resume leaves the failed run's log as it was", async () => {
    const out = tmp("fail-refused");
    const c = config({});
    await failure(trainSft({ ...c, optim: diverging }, sftData, { outDir: out, threads: 1 }));
    const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
    const e = (await failure(
      trainSft({ ...c, optim: { ...diverging, lr: 1e-3 } }, sftData, {
        outDir: out,
        threads: 1,
        resume: true,
      }),
    )) as KeelError;
    // Why the divergence hint does not offer "--resume with a lower lr".
    expect(e.detail).toMatch(/^cannot resume: optim\.lr changed since the run began/);
    expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(before);
    expect(endedAs(out)).toBe("failed");
  });
});

describe("the divergence hint", () => {
  it("names the latest checkpoint, its step and how a run with a lower lr starts from it", async () => {
    const out = tmp("hint-ck");
    const e = (await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("fail-init")) },
          train: { steps: 4, batch_size: 2 },
          optim: diverging,
          run: { checkpoint_every: 1 },
        },
        sftData,
        { outDir: out, threads: 1 },
      ),
    )) as KeelError;
    expect(e.message).toBe("sft step 2: the loss is NaN");
    const dir = join(out, "checkpoints", "step-0000001");
    expect(e.hint).toContain(`its latest checkpoint is step 1 (${dir})`);
    expect(e.hint).toContain("--resume continues from it only under the run's own config");
    expect(e.hint).toContain(`lower optim.lr`);
    expect(e.hint).toContain(`start a new run from it (model.init: ${dir})`);
    expect(e.hint).not.toContain("start again");
  });

  it("ppo: the checkpoint's policy is what a new run starts from", async () => {
    const out = tmp("hint-ppo");
    const e = (await failure(
      trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("fail-init")) },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 1, minibatch_size: 2 },
          optim: diverging,
          run: { checkpoint_every: 1 },
        },
        { prompts: ["pick one", "say yes"] },
        {
          outDir: out,
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    )) as KeelError;
    expect(e.message).toMatch(/^ppo iteration 2, rollout: /);
    expect(e.hint).toContain(`policy.init: ${join(out, "checkpoints", "step-0000001", "policy")}`);
  });

  it("without a checkpoint keeps the plain text", async () => {
    const e = (await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("fail-init")) },
          train: { steps: 4, batch_size: 2 },
          optim: diverging,
        },
        sftData,
        { outDir: tmp("hint-none"), threads: 1 },
      ),
    )) as KeelError;
    expect(e.hint).toBe(
      "the run diverged: lower optim.lr (or set optim.max_grad_norm) and start again; no checkpoint and no final model was written after this point",
    );
  });
});
