/**
 * Every model a trainer opens (the policy or reward model, DPO's and PPO's reference, ensemble
 * members, the scorer of the saved ensemble) is disposed exactly once, however the run ends: a
 * divergence at step 2 (lr 1e20, as in divergence-nonfinite.test.ts), a refused resume or
 * reference, a checkpoint whose optimizer state is torn, an abort, or completion. A model left
 * undisposed keeps its ONNX Runtime sessions (and data-parallel workers) alive after the
 * trainer has returned or thrown.
 *
 * Disposal is observed without timings or heap sizes: the engine's `Gpt` is replaced by a
 * subclass that records each model constructed (checkpoints loaded, new models, clones), and
 * `dispose` counts its calls per model.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { saveModel } from "../../src/train/common/model.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainCostModel, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

const track = vi.hoisted(() => ({
  created: [] as object[],
  disposed: new Map<object, number>(),
}));

vi.mock("../../src/engine/gpt/model.js", async (importOriginal) => {
  const orig = await importOriginal<typeof import("../../src/engine/gpt/model.js")>();
  const dispose = orig.Gpt.prototype.dispose;
  orig.Gpt.prototype.dispose = function (this: Gpt) {
    track.disposed.set(this, (track.disposed.get(this) ?? 0) + 1);
    return dispose.call(this);
  };
  const clone = orig.Gpt.prototype.clone;
  orig.Gpt.prototype.clone = function (this: Gpt, ...a: Parameters<Gpt["clone"]>) {
    const m = clone.apply(this, a);
    track.created.push(m);
    return m;
  };
  // Checkpoints (engine/checkpoint) and new models (train/common/model.ts) construct through
  // the module's export; clones construct inside the module and are recorded above.
  class TrackedGpt extends orig.Gpt {
    constructor(...a: ConstructorParameters<typeof orig.Gpt>) {
      super(...a);
      track.created.push(this);
    }
  }
  return { ...orig, Gpt: TrackedGpt };
});

afterEach(() => {
  track.created.length = 0;
  track.disposed.clear();
});

/** Starts counting: models made before (the fixtures' checkpoints) are not the trainer's. */
function watch(): void {
  track.created.length = 0;
  track.disposed.clear();
}

/** How many models were constructed, and how many of them were disposed 0, 1, 2… times. */
function tally(): { created: number; disposals: number[] } {
  return {
    created: track.created.length,
    disposals: track.created.map((m) => track.disposed.get(m) ?? 0),
  };
}

/** Every model constructed since `watch()` disposed exactly once (and at least `min` made). */
function expectAllDisposedOnce(min: number): void {
  const t = tally();
  expect(t.created).toBeGreaterThanOrEqual(min);
  expect(t.disposals).toEqual(t.disposals.map(() => 1));
}

async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the run completed");
}

const diverging = { lr: 1e20, warmup: 0, max_grad_norm: null };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
];
const sftData = {
  train: [
    { prompt: "pick one", completion: "A" },
    { prompt: "say yes", completion: "yes" },
  ],
};
const aborted = () => {
  const a = new AbortController();
  a.abort();
  return a.signal;
};

describe("a run that diverges at step 2 disposes the models it opened", () => {
  it("sft: the policy", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    watch();
    const e = await failure(
      trainSft({ model: { init }, train: { steps: 4, batch_size: 2 }, optim: diverging }, sftData, {
        threads: 1,
      }),
    );
    expect(e.message).toBe("sft step 2: the loss is NaN");
    expectAllDisposedOnce(1);
  });

  it("reward and cost models: the member in training", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const config = { model: { init }, train: { steps: 4, batch_size: 3 }, optim: diverging };
    watch();
    const e = await failure(trainRewardModel(config, { train: pairs }, { threads: 1 }));
    expect(e.message).toBe("rm step 2 (member-0): the loss is NaN");
    expectAllDisposedOnce(1);

    watch();
    const costPairs = pairs.map((p, i) => ({ ...p, chosen_safe: true, rejected_safe: i === 1 }));
    const ce = await failure(trainCostModel(config, { train: costPairs }, { threads: 1 }));
    expect(ce.message).toBe("cost step 2 (member-0): the loss is NaN");
    expectAllDisposedOnce(1);
  });

  it("dpo: the policy and its reference", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const reference = tinyCheckpoint(tmp("disp-ref"));
    for (const ref of [{}, { reference: { init: reference } }]) {
      watch();
      const e = await failure(
        trainDpo(
          { model: { init }, ...ref, train: { steps: 4, batch_size: 3 }, optim: diverging },
          { train: pairs },
          { threads: 1 },
        ),
      );
      expect(e.message).toBe("dpo step 2: the loss is NaN");
      expectAllDisposedOnce(2);
    }
  });
});

describe("a refused resume disposes the models opened before the refusal", () => {
  it("ppo: the policy and its reference", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const out = tmp("disp-ppo");
    const config = (iterations: number) => ({
      policy: { init },
      rollout: { batch_size: 2, max_new_tokens: 4 },
      ppo: { iterations, epochs: 1, minibatch_size: 2 },
      run: { checkpoint_every: 1 },
    });
    const hooks = {
      outDir: out,
      threads: 1,
      reward: async (_p: readonly string[], rs: readonly string[]) => ({
        score: Float64Array.from(rs, (t) => t.length),
      }),
    };
    const data = { prompts: ["pick one", "say yes"] };
    // Two iterations leave a checkpoint at iteration 1 (and the completed run its models, once).
    watch();
    expect((await trainPpo(config(2), data, hooks)).status).toBe("completed");
    expectAllDisposedOnce(2);

    watch();
    const e = await failure(trainPpo(config(3), data, { ...hooks, resume: true }));
    expect(e.message).toMatch(/cannot resume: ppo\.iterations changed/);
    expectAllDisposedOnce(2);
  });
});

describe("a resume from a checkpoint whose optimizer state is torn", () => {
  it("sft: the policy and the checkpoint's copy loaded to restore it are released", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const out = tmp("disp-torn");
    const config = (steps: number) => ({
      model: { init },
      train: { steps, batch_size: 2 },
      run: { checkpoint_every: 1 },
    });
    expect((await trainSft(config(2), sftData, { outDir: out, threads: 1 })).status).toBe(
      "completed",
    );
    const latest = JSON.parse(readFileSync(join(out, "checkpoints", "latest.json"), "utf8"));
    writeFileSync(join(out, "checkpoints", latest.dir, "optimizer.safetensors"), "torn");
    watch();
    const e = await failure(
      trainSft(config(2), sftData, { outDir: out, threads: 1, resume: true }),
    );
    expect(e.code).toBe("KEEL_E_CHECKPOINT");
    expectAllDisposedOnce(2);
  });
});

describe("a model refused while the run opens its models releases those opened before it", () => {
  /** A checkpoint of the fixtures' tokenizer with a context too short for the policy's. */
  function shortContext(dir: string): string {
    const codec = tinyCodec();
    const m = new Gpt(
      { vocab: codec.vocabSize, ...TINY_ARCH, context: 8 },
      { seed: 2, threads: 1 },
    );
    saveModel(dir, m, codec);
    void m.dispose();
    return dir;
  }

  it("dpo and ppo: a reference with a shorter context; the policy is released", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const reference = { init: shortContext(tmp("disp-short")) };
    watch();
    const e = await failure(
      trainDpo(
        { model: { init }, reference, train: { steps: 1, batch_size: 3 } },
        { train: pairs },
        { threads: 1 },
      ),
    );
    expect(e.message).toMatch(/the reference .* has context 8/);
    expectAllDisposedOnce(2);

    watch();
    const pe = await failure(
      trainPpo(
        {
          policy: { init },
          reference,
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"] },
        { threads: 1, reward: async (_p, rs) => ({ score: new Float64Array(rs.length) }) },
      ),
    );
    expect(pe.message).toMatch(/the reference .* has context 8/);
    expectAllDisposedOnce(2);
  });

  it("ppo: Lagrangian mode without a cost model; the policy, reference and reward model are released", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const rm = tinyCheckpoint(tmp("disp-rm"), 3);
    watch();
    const e = await failure(
      trainPpo(
        {
          policy: { init },
          reward: { model: rm },
          cost: {},
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"] },
        { threads: 1 },
      ),
    );
    expect(e.message).toMatch(/Lagrangian mode needs a cost model/);
    expectAllDisposedOnce(3);
  });
});

describe("an aborted or completed run disposes each model once", () => {
  it("sft, dpo, reward model: aborted before the first step", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    const signal = aborted();
    watch();
    const s = await trainSft({ model: { init }, train: { steps: 2, batch_size: 2 } }, sftData, {
      outDir: tmp("disp-abort-sft"),
      threads: 1,
      signal,
    });
    expect(s.status).toBe("aborted");
    expectAllDisposedOnce(1);

    watch();
    const d = await trainDpo(
      { model: { init }, train: { steps: 2, batch_size: 3 } },
      { train: pairs },
      { outDir: tmp("disp-abort-dpo"), threads: 1, signal },
    );
    expect(d.status).toBe("aborted");
    expectAllDisposedOnce(2);

    watch();
    const r = await trainRewardModel(
      { model: { init }, train: { steps: 2, batch_size: 3 }, ensemble: { size: 2 } },
      { train: pairs },
      { outDir: tmp("disp-abort-rm"), threads: 1, signal },
    );
    expect(r.status).toBe("aborted");
    expectAllDisposedOnce(1);
  });

  it("reward-model ensemble: every member and the scorer of the saved ensemble", async () => {
    const init = tinyCheckpoint(tmp("disp-init"));
    watch();
    const r = await trainRewardModel(
      { model: { init }, train: { steps: 1, batch_size: 3 }, ensemble: { size: 2 } },
      { train: pairs, eval: pairs.slice(0, 1) },
      { outDir: tmp("disp-ens"), threads: 1 },
    );
    expect(r.status).toBe("completed");
    // Two members trained, two loaded back to evaluate the ensemble.
    expectAllDisposedOnce(4);
  });
});
