/**
 * A resume that cannot continue the run is refused before anything is restored or cut from the
 * log, naming what differs (the field, the trainer, the safeguards); the checkpoint pointer is
 * checked; and an abort right after a checkpoint (or a resume) does not rewrite the checkpoint
 * it would lose by dying mid-save.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { KEEL_VERSION } from "../../src/core/version.js";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { createSafeguards, parseSafeguards } from "../../src/safeguards/index.js";
import { RunSchema } from "../../src/train/common/config.js";
import { TrainLoop } from "../../src/train/common/loop.js";
import { saveModel } from "../../src/train/common/model.js";
import { CheckpointStore } from "../../src/train/common/run.js";
import { type PpoHooks, trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { parseSftConfig } from "../../src/train/sft/sftConfig.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

const sftData = {
  train: [
    { prompt: "pick one", completion: "A" },
    { prompt: "say yes", completion: "yes" },
  ],
};
const run = { log_every: 1, checkpoint_every: 1 };

/** An SFT run in a new directory, aborted after `steps` steps (a checkpoint at that step). */
async function abortedSft(init: string, steps = 2, more: Record<string, unknown> = {}) {
  const out = tmp("aborted");
  const ac = new AbortController();
  const r = await trainSft(
    { model: { init }, train: { steps: 4, batch_size: 1 }, run, ...more },
    sftData,
    {
      outDir: out,
      threads: 1,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.step === steps) ac.abort();
      },
    },
  );
  expect(r.status).toBe("aborted");
  return out;
}

async function refusal(p: Promise<unknown>): Promise<KeelError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KeelError);
  return e as KeelError;
}

const metrics = (out: string) => readFileSync(join(out, "metrics.jsonl"), "utf8");

describe("a resume under another config is refused, naming what changed", () => {
  const init = tinyCheckpoint(tmp("init"));

  it("names the changed field and leaves metrics.jsonl as it was", async () => {
    const out = await abortedSft(init);
    const log = metrics(out);
    const e = await refusal(
      trainSft(
        { model: { init }, train: { steps: 4, batch_size: 1 }, run, optim: { lr: 0.5 } },
        sftData,
        { outDir: out, threads: 1, resume: true },
      ),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("optim.lr");
    expect(e.message).toContain("optim.lr changed since the run began (0.001 then, 0.5 now)");
    expect(metrics(out)).toBe(log);
  });

  it("names model.init when the run's starting model changed (not a RangeError on restore)", async () => {
    const codec = tinyCodec();
    const wide = tmp("wide");
    const m = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH, dModel: 32 }, { seed: 1 });
    saveModel(wide, m, codec);
    await m.dispose();
    const out = await abortedSft(wide);
    const e = await refusal(
      trainSft({ model: { init }, train: { steps: 4, batch_size: 1 }, run }, sftData, {
        outDir: out,
        threads: 1,
        resume: true,
      }),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("model.init");
  });

  it("names the trainer when the checkpoint is another trainer's (PPO's has another layout)", async () => {
    const out = tmp("ppo");
    const ac = new AbortController();
    const ppo = { policy: { init }, rollout: { batch_size: 2, max_new_tokens: 4 } } as const;
    await trainPpo(
      { ...ppo, ppo: { iterations: 3, epochs: 1, minibatch_size: 2 }, run },
      { prompts: ["pick one", "say yes"] },
      {
        outDir: out,
        threads: 1,
        signal: ac.signal,
        reward: async (_p, r) => ({ score: Float64Array.from(r, (t) => t.length) }),
        onProgress: (e) => {
          if (e.step === 1) ac.abort();
        },
      },
    );
    const log = metrics(out);
    const e = await refusal(
      trainSft({ model: { init }, train: { steps: 4, batch_size: 1 }, run }, sftData, {
        outDir: out,
        threads: 1,
        resume: true,
      }),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("trainer");
    expect(e.message).toContain("written by the ppo trainer, not sft");
    expect(metrics(out)).toBe(log);
  });
});

describe("ppo resumed with other safeguards", () => {
  it("is refused naming safeguards, not a TypeError in a monitor's restore", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const out = tmp("ppo-sg");
    const config = {
      policy: { init },
      rollout: { batch_size: 2, max_new_tokens: 4 },
      ppo: { iterations: 4, epochs: 1, minibatch_size: 2 },
      run,
    };
    const hooks = (more: Partial<PpoHooks>): PpoHooks => ({
      outDir: out,
      threads: 1,
      reward: async (_p, r) => ({ score: Float64Array.from(r, (t) => t.length) }),
      ...more,
    });
    const ac = new AbortController();
    await trainPpo(
      config,
      { prompts: ["pick one", "say yes"] },
      hooks({
        signal: ac.signal,
        monitors: createSafeguards(parseSafeguards({ kl_budget: { max: 10 } })),
        onProgress: (e) => {
          if (e.step === 2) ac.abort();
        },
      }),
    );
    const log = metrics(out);
    for (const monitors of [
      createSafeguards(parseSafeguards({ length: {} })),
      createSafeguards(parseSafeguards({ kl_budget: { max: 10 }, ema: {} })),
      [],
    ]) {
      const e = await refusal(
        trainPpo(config, { prompts: ["pick one", "say yes"] }, hooks({ resume: true, monitors })),
      );
      expect(e.code).toBe("KEEL_E_CONFIG");
      expect(e.where?.field).toBe("safeguards");
      expect(e.message).toContain("safeguards were kl_budget then");
      expect(metrics(out)).toBe(log);
    }
  });
});

describe("checkpoints/latest.json", () => {
  it("is refused when its step is not a whole number or its dir leaves checkpoints/", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const out = await abortedSft(init);
    const latest = join(out, "checkpoints", "latest.json");
    for (const [bad, field] of [
      ['{"step":"2","dir":"step-0000002"}', "step"], // was counted on as text: steps "21"
      ['{"step":2,"dir":"../../elsewhere"}', "dir"],
      ['{"step":2}', "dir"],
      ["null", "step"],
    ] as const) {
      writeFileSync(latest, bad);
      const e = await refusal(
        trainSft({ model: { init }, train: { steps: 4, batch_size: 1 }, run }, sftData, {
          outDir: out,
          threads: 1,
          resume: true,
        }),
      );
      expect(e.code).toBe("KEEL_E_CHECKPOINT");
      expect(e.where).toMatchObject({ file: latest, field });
    }
  });
});

describe("an abort at the step of the latest checkpoint", () => {
  it("keeps that checkpoint instead of deleting and rewriting it (a crash mid-save lost it)", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const out = await abortedSft(init);
    const c = parseSftConfig({ model: { init }, train: { steps: 4, batch_size: 1 }, run });
    const loop = new TrainLoop("sft", { outDir: out, resume: true }, RunSchema.parse(run), 4, c);
    expect(loop.startStep).toBe(2);
    // The process dies while saving the abort checkpoint at the step it resumed at.
    expect(() =>
      loop.saveCheckpoint(2, () => {
        throw new Error("killed mid-save");
      }),
    ).not.toThrow();
    const again = new CheckpointStore(out).latest()!;
    expect(again.step).toBe(2);
    const ck = loadCheckpoint(again.dir);
    expect(ck.step).toBe(2);
    await ck.model.dispose();
  });
});

describe("a run resumed by another keel version", () => {
  it("goes on, with a warn event naming both versions (none when the version is the same)", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const resume = (out: string) =>
      trainSft({ model: { init }, train: { steps: 4, batch_size: 1 }, run }, sftData, {
        outDir: out,
        threads: 1,
        resume: true,
      });
    const same = await resume(await abortedSft(init));
    expect(same.status).toBe("completed");
    expect(same.events.filter((e) => e.source === "resume")).toEqual([]);

    const out = await abortedSft(init);
    const file = join(new CheckpointStore(out).latest()!.dir, "config.json");
    const cfg = JSON.parse(readFileSync(file, "utf8"));
    expect(cfg.extra.keel_version).toBe(KEEL_VERSION);
    cfg.extra.keel_version = "0.0.1";
    writeFileSync(file, JSON.stringify(cfg));
    const r = await resume(out);
    expect(r.status).toBe("completed");
    const warned = r.events.filter((e) => e.source === "resume");
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ step: 2, severity: "warn" });
    expect(warned[0]!.message).toContain(`resumed by keel ${KEEL_VERSION}`);
    expect(warned[0]!.message).toContain("began under keel 0.0.1");
    expect(metrics(out)).toContain('"source":"resume"');
  });
});

describe("a resume whose checkpoint's config.json cannot be read", () => {
  it("says why in words (KEEL_E_FILE), not that it is not JSON", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const out = await abortedSft(init);
    const file = join(new CheckpointStore(out).latest()!.dir, "config.json");
    rmSync(file);
    mkdirSync(file);
    const e = await refusal(
      trainSft({ model: { init }, train: { steps: 4, batch_size: 1 }, run }, sftData, {
        outDir: out,
        threads: 1,
        resume: true,
      }),
    );
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.message).toContain("cannot read config.json: is a directory");
  });
});
