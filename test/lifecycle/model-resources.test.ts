/**
 * What the model commands and the servers of models leave behind in their own process when they
 * fail midway, and when they succeed: models not disposed and ONNX Runtime sessions not released
 * above all (resources.ts says what else is measured).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { GraphBuilder } from "../../src/engine/builder.js";
import { encodeModel } from "../../src/engine/onnx/proto.js";
import { BpeTokenizer, byteVocab } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";
import { writeEnsembleFile } from "../../src/train/rm/ensemble.js";
import { tinyCheckpoint } from "../train/fixtures.js";
import {
  aFile,
  dir,
  fails,
  good,
  leavesNothing,
  servesUntilCtrlC,
  succeeds,
  writeFixtures,
  writeJsonl,
} from "./resources.js";

vi.mock("../../src/core/worker.js", async (real) =>
  (await import("./trackers.js")).trackWorkers(await real()),
);
vi.mock("../../src/engine/gpt/model.js", async (real) =>
  (await import("./trackers.js")).trackModels(await real()),
);
vi.mock("onnxruntime-node", async (real) =>
  (await import("./trackers.js")).trackSessions(await real()),
);

beforeAll(writeFixtures);

describe("audit with an ONNX safety classifier", () => {
  const tokFile = join(dir, "bytes-tokenizer.json");
  /** A bag-of-bytes classifier whose input is called `input`. */
  function classifier(file: string, input: string): string {
    const b = new GraphBuilder("bag_of_bytes");
    const ids = b.input(input, "int64", ["B", "T"]);
    const table = b.initializer("table", {
      dtype: "float32",
      dims: [256, 2],
      data: new Float32Array(512),
    });
    b.output(b.reduceSum(b.gather(table, ids, 0), [1], false), "logits");
    writeFileSync(file, encodeModel(b.graph));
    return file;
  }
  beforeAll(() => {
    const tokenizer = new BpeTokenizer({ vocab: byteVocab(), merges: [], special: [] });
    writeFileSync(tokFile, JSON.stringify(tokenizer.toJSON()));
  });

  // The session was never released, done or failed: one more per audit in a long-lived program.
  const audit = ["audit", "--in", good, "--json", "--safety-tokenizer", tokFile];
  it("releases its session when done", async () => {
    const ok = classifier(join(dir, "ok.onnx"), "input_ids");
    await leavesNothing([...audit, "--safety", `onnx:${ok}`], succeeds);
  });
  it("releases its session when the model cannot be fed", async () => {
    const odd = classifier(join(dir, "odd.onnx"), "tokens");
    await leavesNothing([...audit, "--safety", `onnx:${odd}`], fails);
  });
});

describe("keel model and the servers of models", () => {
  const ckpt = join(dir, "ckpt");
  const bare = join(dir, "ckpt-no-tokenizer");
  const rm = join(dir, "rm");
  const policy = join(dir, "policy"); // with keel's tokenizer, as trainers write it
  const size = ["--vocab", "270", "--d-model", "16", "--layers", "1", "--heads", "2"];
  beforeAll(async () => {
    const tok = trainBpe(["two plus two is four", "three plus one is four"], { vocabSize: 270 });
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tok.toJSON()));
    await leavesNothing(
      ["model", "init", "--out", ckpt, ...size, "--context", "24", "-q"].concat([
        "--tokenizer",
        join(dir, "tokenizer.json"),
      ]),
      succeeds,
    );
    await leavesNothing(
      ["model", "init", "--out", bare, ...size, "--context", "24", "-q"],
      succeeds,
    );
    tinyCheckpoint(policy);
    tinyCheckpoint(join(rm, "m0"));
    writeEnsembleFile(rm, {
      format: "keel-reward-ensemble",
      kind: "reward",
      members: ["m0"],
      scoring: "mean",
      lambda: 0,
      normalise: false,
    });
  });

  it("generate with a bad prompts file, with an unwritable --out, and with neither", async () => {
    const prompts = writeJsonl(join(dir, "prompts.jsonl"), ["two plus", "three"], 1);
    const gen = ["model", "generate", "-c", ckpt, "--max-new-tokens", "3", "-q"];
    await leavesNothing([...gen, "--prompts", prompts], fails);
    await leavesNothing([...gen, "-p", "two", "--out", join(aFile, "o.jsonl")], fails);
    await leavesNothing([...gen, "-p", "two", "--out", join(dir, "o.jsonl")], succeeds);
  });

  // The model was loaded, then the command refused: it kept the model (and its sessions).
  const gen = ["model", "generate", "--max-new-tokens", "3", "-q"];
  it("generate from a checkpoint without a tokenizer", async () => {
    await leavesNothing([...gen, "-c", bare, "-p", "two"], fails);
  });
  it("generate from an empty prompt", async () => {
    await leavesNothing([...gen, "-c", ckpt, "-p", ""], fails);
  });

  it("keel generate, to a path that cannot be written and to one that can", async () => {
    const prompts = writeJsonl(join(dir, "gen-prompts.jsonl"), ["pick one", "say yes"]);
    const gen = ["generate", "--checkpoint", policy, "-p", prompts, "--max-new-tokens", "2", "-q"];
    await leavesNothing([...gen, "-o", join(aFile, "c.jsonl")], fails);
    await leavesNothing([...gen, "-o", join(dir, "c.jsonl")], succeeds);
  });

  // The write failed after the model was loaded (no file can be made in /proc/self, even by
  // root), and the model was kept.
  it("export-onnx whose file cannot be written", async () => {
    const r = await leavesNothing(
      ["model", "export-onnx", "-c", ckpt, "--out", "/proc/self/m.onnx"],
      fails,
    );
    expect(r.stderr).toContain("/proc/self/m.onnx: cannot write");
  });

  it("info and export-onnx", async () => {
    await leavesNothing(["model", "info", "-c", ckpt, "--json"], succeeds);
    await leavesNothing(["model", "info", "-c", rm, "--json"], succeeds);
    const out = join(dir, "m.onnx");
    await leavesNothing(["model", "export-onnx", "-c", ckpt, "--out", out, "-q"], succeeds);
  });

  // serve-rm kept its reward model when the cost model did not load; serve-model its policy
  // when the cost model or the refusal log failed.
  it("serve-rm and serve-model until Ctrl-C", async () => {
    await servesUntilCtrlC([
      "serve-rm",
      "--reward-model",
      rm,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    await servesUntilCtrlC([
      "serve-model",
      "--checkpoint",
      policy,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
  });

  it("serve-rm with a cost model that does not load", async () => {
    const serveRm = ["serve-rm", "--reward-model", rm, "--port", "0"];
    await leavesNothing([...serveRm, "--cost-model", rm], fails);
  });
  const serveModel = ["serve-model", "--checkpoint", policy, "--port", "0"];
  it("serve-model with a cost model that does not load", async () => {
    await leavesNothing([...serveModel, "--cost-model", rm], fails);
  });
  it("serve-model with a refusal log that cannot be written", async () => {
    await leavesNothing([...serveModel, "--guard", "--refusal-log", join(aFile, "r.log")], fails);
  });
  // openCheckpoint refused a checkpoint without tokenizer.json after loading its model, and kept it.
  it("serve-model from a checkpoint without a tokenizer", async () => {
    await leavesNothing(["serve-model", "--checkpoint", bare, "--port", "0"], fails);
  });
});
