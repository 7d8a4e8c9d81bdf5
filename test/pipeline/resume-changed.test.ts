/**
 * `--resume` after the settings of the interrupted stage (or of a stage upstream of it) changed:
 * the stage starts again from scratch, its partial checkpoint from the old settings removed, and
 * the stages after it re-run; unchanged, it continues from its checkpoint. Each re-run says why.
 * The stages are stand-ins for the trainers: "reward" keeps a step log in its own directory
 * that a resumed attempt continues, as a trainer continues from its last checkpoint.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunDir } from "../../src/pipeline/rundir.js";
import { interrupted, Runner, type Stage } from "../../src/pipeline/runner.js";
import { tempDir } from "../helpers/stores.js";

interface Settings {
  readonly policy: string;
  readonly lr: number;
  /** Abort the reward stage after this many of its 4 steps. */
  readonly stopAt?: number;
}

function stages(s: Settings, abort: AbortController): Stage[] {
  return [
    {
      key: "prefs",
      title: "preferences",
      weight: 1,
      config: { policy: s.policy },
      after: [],
      outputs: ["prefs.txt"],
      async run(ctx) {
        writeFileSync(ctx.run.file("prefs.txt"), s.policy);
        return {};
      },
    },
    {
      key: "reward",
      title: "reward model",
      weight: 1,
      config: { lr: s.lr },
      after: ["prefs"],
      outputs: ["reward/model.txt"],
      async run(ctx) {
        const dir = ctx.run.file("reward");
        if (!ctx.resume) rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const log = join(dir, "log.txt");
        const data = readFileSync(ctx.run.file("prefs.txt"), "utf8");
        const done = existsSync(log) ? readFileSync(log, "utf8").split("\n").length - 1 : 0;
        for (let step = done + 1; step <= 4; step++) {
          writeFileSync(log, `step ${step} on ${data} at lr ${s.lr}\n`, { flag: "a" });
          if (step === s.stopAt) {
            abort.abort();
            throw interrupted();
          }
        }
        writeFileSync(join(dir, "model.txt"), readFileSync(log));
        return {};
      },
    },
    {
      key: "eval",
      title: "evaluate",
      weight: 1,
      config: {},
      after: ["reward"],
      outputs: ["eval.txt"],
      async run(ctx) {
        writeFileSync(ctx.run.file("eval.txt"), readFileSync(ctx.run.file("reward/model.txt")));
        return {};
      },
    },
  ];
}

interface Attempt {
  ran: string[];
  reruns: string[];
}

async function attempt(out: string, s: Settings, resume: boolean): Promise<Attempt> {
  const abort = new AbortController();
  const seen: Attempt = { ran: [], reruns: [] };
  const runner = new Runner(new RunDir(out, { pipeline: 1 }), stages(s, abort), {
    onStageStart: (_i, _n, stage, skipped) => void (skipped || seen.ran.push(stage.key)),
    onStageRerun: (stage, reason, continues) =>
      void seen.reruns.push(`${stage.key}: ${continues ? "continues" : "restarts"}: ${reason}`),
  });
  if (resume) runner.loadState();
  try {
    await runner.runAll(abort.signal, resume);
  } catch (e) {
    if ((e as { code?: string }).code !== "KEEL_E_INTERRUPTED") throw e;
  }
  return seen;
}

const steps = (policy: string, lr: number) =>
  [1, 2, 3, 4].map((k) => `step ${k} on ${policy} at lr ${lr}\n`).join("");

describe("--resume after the settings changed", () => {
  const dir = tempDir("keel-resume-changed-");

  it("restarts the interrupted stage from scratch when an upstream stage's settings changed", async () => {
    const out = join(dir, "upstream");
    await attempt(out, { policy: "raw", lr: 0.1, stopAt: 2 }, false);
    const r = await attempt(out, { policy: "audited", lr: 0.1 }, true);
    expect(r.ran).toEqual(["prefs", "reward", "eval"]);
    // Every step on the new preferences: none of the old partial model is continued.
    expect(readFileSync(join(out, "reward", "model.txt"), "utf8")).toBe(steps("audited", 0.1));
    expect(r.reruns).toEqual([
      "prefs: restarts: its settings changed",
      "reward: restarts: interrupted, and prefs was re-run with other settings since: starting again from scratch (its partial checkpoints and metrics are removed)",
    ]);
  });

  it("restarts the interrupted stage from scratch when its own settings changed", async () => {
    const out = join(dir, "own");
    await attempt(out, { policy: "raw", lr: 0.1, stopAt: 3 }, false);
    const r = await attempt(out, { policy: "raw", lr: 0.2 }, true);
    expect(r.ran).toEqual(["reward", "eval"]);
    expect(readFileSync(join(out, "reward", "model.txt"), "utf8")).toBe(steps("raw", 0.2));
    expect(r.reruns).toEqual([
      "reward: restarts: interrupted, and its settings changed since: starting again from scratch (its partial checkpoints and metrics are removed)",
    ]);
  });

  it("continues an unchanged interrupted stage from its checkpoint, even after a second interruption", async () => {
    const out = join(dir, "same");
    await attempt(out, { policy: "raw", lr: 0.1, stopAt: 1 }, false);
    // Interrupted again under other settings, then resumed under those: it continues them.
    const second = await attempt(out, { policy: "raw", lr: 0.3, stopAt: 2 }, true);
    expect(second.reruns[0]).toMatch(/^reward: restarts: interrupted, and its settings changed/);
    const r = await attempt(out, { policy: "raw", lr: 0.3 }, true);
    expect(r.ran).toEqual(["reward", "eval"]);
    expect(r.reruns).toEqual([
      "reward: continues: interrupted; continuing from its last checkpoint",
    ]);
    expect(readFileSync(join(out, "reward", "model.txt"), "utf8")).toBe(steps("raw", 0.3));
    const state = JSON.parse(readFileSync(join(out, "state.json"), "utf8"));
    expect(state.started).toEqual({});
  });

  it("says why finished stages re-run: settings, an upstream stage, an output changed", async () => {
    const out = join(dir, "finished");
    expect((await attempt(out, { policy: "raw", lr: 0.1 }, false)).ran).toEqual([
      "prefs",
      "reward",
      "eval",
    ]);
    const r = await attempt(out, { policy: "audited", lr: 0.1 }, true);
    expect(r.reruns).toEqual([
      "prefs: restarts: its settings changed",
      "reward: restarts: prefs was re-run with other settings",
      "eval: restarts: reward was re-run with other settings",
    ]);
    writeFileSync(join(out, "eval.txt"), "edited");
    const again = await attempt(out, { policy: "audited", lr: 0.1 }, true);
    expect(again.reruns).toEqual(["eval: restarts: its output eval.txt was changed or removed"]);
  });

  it("refuses a state.json it cannot read (a newer keel's) instead of overwriting it", async () => {
    const out = join(dir, "newer");
    await attempt(out, { policy: "raw", lr: 0.1 }, false);
    const newer = JSON.stringify({ format: "keel-run-state/2", stages: {} });
    writeFileSync(join(out, "state.json"), newer);
    await expect(attempt(out, { policy: "raw", lr: 0.1 }, true)).rejects.toThrow(
      /state\.json is not a keel-run-state\/1 record \(format "keel-run-state\/2"\)/,
    );
    expect(readFileSync(join(out, "state.json"), "utf8")).toBe(newer);
  });
});
