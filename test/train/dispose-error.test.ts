/**
 * A `dispose()` that throws while a trainer releases its models must not replace the error that
 * ended the run (a divergence says what to do; "session already released" does not). When the
 * run itself succeeded, the dispose failure surfaces. Every model is still released when one of
 * them fails to be.
 */
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { releaseAll, releaseQuietly, releasing } from "../../src/train/common/release.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

const original = Gpt.prototype.dispose;
const disposeFailure = new Error("ORT session already released");
let calls = 0;

/** From now on every model's dispose releases it, then throws. */
function breakDispose(): void {
  calls = 0;
  Gpt.prototype.dispose = async function (this: Gpt) {
    calls += 1;
    await original.call(this);
    throw disposeFailure;
  };
}

afterEach(() => {
  Gpt.prototype.dispose = original;
});

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

describe("a dispose that throws", () => {
  it("does not hide the divergence that ended the run (sft, reward model)", async () => {
    const init = tinyCheckpoint(tmp("dispose-init"));
    breakDispose();
    const e = (await failure(
      trainSft({ model: { init }, train: { steps: 4, batch_size: 2 }, optim: diverging }, sftData, {
        threads: 1,
      }),
    )) as KeelError;
    expect(e).toBeInstanceOf(KeelError);
    expect(e.message).toBe("sft step 2: the loss is NaN");

    const re = (await failure(
      trainRewardModel(
        { model: { init }, train: { steps: 4, batch_size: 2 }, optim: diverging },
        {
          train: sftData.train.map((x) => ({
            prompt: x.prompt,
            chosen: x.completion,
            rejected: "no",
          })),
        },
        { threads: 1 },
      ),
    )) as KeelError;
    expect(re.message).toBe("rm step 2 (member-0): the loss is NaN");
  });

  it("surfaces when the run itself completed", async () => {
    const init = tinyCheckpoint(tmp("dispose-init"));
    breakDispose();
    const e = await failure(
      trainSft({ model: { init }, train: { steps: 1, batch_size: 2 } }, sftData, { threads: 1 }),
    );
    expect(e).toBe(disposeFailure);
  });

  it("ppo: the error wins, and the policy and its reference are both released", async () => {
    const init = tinyCheckpoint(tmp("dispose-init"));
    breakDispose();
    const e = (await failure(
      trainPpo(
        {
          policy: { init },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 3, epochs: 1, minibatch_size: 1 },
          optim: diverging,
        },
        { prompts: ["pick one", "say yes"] },
        {
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    )) as KeelError;
    expect(e.message).toBe("ppo iteration 1, epoch 1, minibatch 2: the policy_loss is NaN");
    expect(calls).toBe(2);
  });
});

describe("releasing", () => {
  const fails = (msg: string) => () => {
    throw new Error(msg);
  };

  it("tries every release; the first failure surfaces after a body that succeeded", async () => {
    const done: string[] = [];
    const e = await failure(
      releasing(
        async () => 1,
        fails("first"),
        () => {
          done.push("second");
        },
        fails("third"),
      ),
    );
    expect((e as Error).message).toBe("first");
    expect(done).toEqual(["second"]);
    expect(
      await releasing(
        async () => 7,
        () => undefined,
      ),
    ).toBe(7);
  });

  it("keeps the body's error when releases fail too", async () => {
    const boom = new Error("the run's error");
    const e = await failure(
      releasing(async () => {
        throw boom;
      }, fails("dispose")),
    );
    expect(e).toBe(boom);
  });

  it("releaseAll and releaseQuietly: rejections as well as throws", async () => {
    const rejects = () => Promise.reject(new Error("rejected"));
    await expect(releaseAll([rejects])).rejects.toThrow("rejected");
    await expect(releaseQuietly([rejects, fails("thrown")])).resolves.toBeUndefined();
  });
});
