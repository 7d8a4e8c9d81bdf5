/**
 * `keel train sft|rm` as a real process, killed at seeded moments of its whole life — while it
 * writes its record, trains its tokenizer, between and during steps and checkpoints, saving its
 * model — then `keel train --resume` (itself killed once more for one case): the run ends with
 * the uninterrupted run's metrics.jsonl (wall-clock fields aside) and final weights.
 * test/train/resume-sigkill.test.ts kills the trainers at chosen steps; this kills the command.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { endedAs } from "../../src/train/common/run.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint, untimedLines } from "../train/fixtures.js";
import { keel, killTimes } from "./helpers.js";

const root = tempDir("keel-crash-train-");
const jsonl = (rows: readonly object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

const metrics = untimedLines;

/** The bytes of every weights file under `dir` (a model, or an ensemble's members). */
function weights(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (e.name.endsWith(".safetensors"))
        out[`${rel}${e.name}`] = readFileSync(join(d, e.name)).toString("base64");
    }
  };
  walk(dir, "");
  return out;
}

const SFT = [
  "pick one",
  "say yes",
  "the sky is blue",
  "grass is green",
  "two and two",
  "hello there",
].map((p, i) => ({ prompt: p, completion: ["A", "yes", "blue", "green", "four", "hi"][i]! }));

const PAIRS = Array.from({ length: 12 }, (_, i) => ({
  comparison_id: `c${i}`,
  prompt: SFT[i % SFT.length]!.prompt,
  response_a: SFT[i % SFT.length]!.completion,
  response_b: SFT[(i + 1) % SFT.length]!.completion,
  rater_id: `r${i % 3}`,
  choice: i % 4 === 0 ? "b" : "a",
}));

const RUN = "run: { log_every: 1, eval_every: 4, checkpoint_every: 3 }";

const CONFIGS: Record<"sft" | "rm", () => string[]> = {
  sft: () => [
    `data: { train: ${join(root, "sft.jsonl")}, eval: ${join(root, "sft.jsonl")} }`,
    "model:",
    "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
    "  tokenizer: { vocab_size: 280 }",
    "train: { steps: 40, batch_size: 2 }",
    RUN,
  ],
  rm: () => [
    `data: { train: ${join(root, "pairs.jsonl")}, eval: ${join(root, "pairs.jsonl")} }`,
    `model: { init: ${join(root, "init")} }`,
    "train: { steps: 16, batch_size: 2 }",
    "ensemble: { size: 2, bootstrap: true }",
    RUN,
  ],
};

const train = (trainer: string, out: string, ...more: string[]) => [
  "train",
  trainer,
  "--config",
  join(root, `${trainer}.yaml`),
  "--out",
  out,
  "--threads",
  "1",
  "-q",
  ...more,
];

/** The checkpoint directories a run holds (an ensemble's members' included). */
function checkpoints(out: string): string[] {
  try {
    return readdirSync(out, { recursive: true, encoding: "utf8" }).filter((f) =>
      /step-\d+$/.test(f),
    );
  } catch {
    return [];
  }
}

const reference: Record<string, { metrics: string[]; weights: Record<string, string> }> = {};

beforeAll(async () => {
  writeFileSync(join(root, "sft.jsonl"), jsonl(SFT));
  writeFileSync(join(root, "pairs.jsonl"), jsonl(PAIRS));
  tinyCheckpoint(join(root, "init"));
  for (const [trainer, lines] of Object.entries(CONFIGS)) {
    writeFileSync(join(root, `${trainer}.yaml`), lines().join("\n"));
    const out = join(root, `whole-${trainer}`);
    const r = await runCli(train(trainer, out));
    expect(r.code, r.stderr).toBe(0);
    reference[trainer] = { metrics: metrics(out), weights: weights(join(out, "model")) };
  }
});

let n = 0;

describe.each(["sft", "rm"] as const)("keel train %s killed", (trainer) => {
  // One kill anywhere in its life; the others once its run directory exists (in a window about
  // as long as the training), the second of them killed again once its resume saved a checkpoint.
  const [anywhere] = killTimes(`train-${trainer}`, 1, 2500);
  const running = killTimes(`train-${trainer}-running`, 7, 350);
  const [againMs] = killTimes(`train-${trainer}-again`, 1, 200);
  const cases: [NodeJS.Signals, number, boolean, number | undefined][] = [
    ["SIGKILL", anywhere!, false, undefined],
    ["SIGKILL", running[0]!, true, undefined],
    ["SIGKILL", running[1]!, true, againMs],
    ...running
      .slice(2, 6)
      .map((t): [NodeJS.Signals, number, boolean, undefined] => ["SIGKILL", t, true, undefined]),
    [trainer === "sft" ? "SIGINT" : "SIGTERM", running[6]!, true, undefined],
  ];

  it.each(cases)(
    "by %s %i ms after it started (or made its directory: %s; its resume killed too at %s ms): --resume ends as the whole run",
    async (signal, afterMs, whenRunning, again) => {
      const out = join(root, `${trainer}-${n++}`);
      const first = await keel(train(trainer, out), {
        kill: { signal, afterMs, ...(whenRunning ? { when: () => existsSync(out) } : {}) },
      });
      // A Ctrl-C or SIGTERM stops with a checkpoint (130); one after the last step, not at all.
      if (first.signal === null)
        expect(first.code, first.stderr).toBe(endedAs(out) === "completed" ? 0 : 130);
      if (again !== undefined && endedAs(out) !== "completed") {
        const had = new Set(checkpoints(out));
        const second = await keel(train(trainer, out, "--resume"), {
          kill: {
            signal: "SIGKILL",
            afterMs: again,
            when: () => checkpoints(out).some((c) => !had.has(c)),
          },
        });
        if (!second.killed) expect(second.code, second.stderr).toBe(0);
      }
      if (endedAs(out) !== "completed") {
        const r = await runCli(train(trainer, out, "--resume"));
        expect(r.code, r.stderr).toBe(0);
      }
      expect(metrics(out)).toEqual(reference[trainer]!.metrics);
      expect(weights(join(out, "model"))).toEqual(reference[trainer]!.weights);
    },
  );
});
