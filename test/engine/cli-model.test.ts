import { execFileSync, spawn } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";
import { writeEnsembleFile } from "../../src/train/rm/ensemble.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "keel-cli-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keel model", () => {
  const ckpt = join(dir, "ckpt");

  let vocabSize = 0;
  it("init writes a checkpoint that info reads back", async () => {
    const tok = trainBpe(["two plus two is four", "three plus one is four"], { vocabSize: 270 });
    vocabSize = tok.vocabSize;
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tok.toJSON()));
    const init = await runCli([
      "model",
      "init",
      "--out",
      ckpt,
      "--vocab",
      "270",
      "--d-model",
      "16",
      "--layers",
      "1",
      "--heads",
      "2",
      "--context",
      "24",
      "--tokenizer",
      join(dir, "tokenizer.json"),
    ]);
    expect(init.code).toBe(0);
    const info = await runCli(["model", "info", "--checkpoint", ckpt, "--json"]);
    expect(info.code).toBe(0);
    const j = JSON.parse(info.stdout);
    expect(j.config).toMatchObject({ vocab: 270, dModel: 16, layers: 1, heads: 2, context: 24 });
    expect(j.tokenizer).toBe(vocabSize);
  });

  it("export-onnx writes a file that a fresh ONNX Runtime session verifies", async () => {
    const out = join(dir, "m.onnx");
    const r = await runCli([
      "model",
      "export-onnx",
      "--checkpoint",
      ckpt,
      "--out",
      out,
      "--heads",
      "logits,rewards",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.max_abs_diff).toBeLessThan(1e-5);
    expect(j.heads).toEqual(["logits", "rewards"]);
    // a head named twice wrote a file no runtime loads, then failed as KEEL_E_INTERNAL
    const twice = await runCli([
      "model",
      "export-onnx",
      "--checkpoint",
      ckpt,
      "--out",
      out,
      "--heads",
      "logits,logits",
      "--json",
    ]);
    expect(twice.code, twice.stderr).toBe(0);
    expect(JSON.parse(twice.stdout).heads).toEqual(["logits"]);
  });

  it("generate samples text from a prompt, reproducibly", async () => {
    const args = [
      "model",
      "generate",
      "--checkpoint",
      ckpt,
      "--prompt",
      "two plus",
      "--max-new-tokens",
      "5",
      "--seed",
      "3",
      "--json",
    ];
    const a = await runCli(args);
    const b = await runCli(args);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    expect(JSON.parse(a.stdout)[0].prompt).toBe("two plus");
  });

  it("rejects bad options with usage errors", async () => {
    const r = await runCli([
      "model",
      "export-onnx",
      "--checkpoint",
      ckpt,
      "--out",
      join(dir, "x.onnx"),
      "--heads",
      "nope",
    ]);
    expect(r.code).toBe(64);
    const missing = await runCli(["model", "info", "--checkpoint", join(dir, "missing")]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/no checkpoint/);
  });

  it("init names a tokenizer file that is missing or not JSON", async () => {
    const nofile = join(dir, "no-tokenizer.json");
    const r = await runCli(["model", "init", "--out", join(dir, "t1"), "--tokenizer", nofile]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`${nofile}: cannot read: no such file or directory`);
    writeFileSync(join(dir, "bad-tokenizer.json"), "{ nope");
    const bad = await runCli([
      "model",
      "init",
      "--out",
      join(dir, "t2"),
      "--tokenizer",
      join(dir, "bad-tokenizer.json"),
    ]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain(`${join(dir, "bad-tokenizer.json")}: not valid JSON`);
  });

  // The checkpoint above has a 270-token model and a 268-token tokenizer (no keel specials).
  it("generate never draws an id its tokenizer cannot decode", async () => {
    // ids 268 and 269 have no text: decoding one failed the whole run (KEEL_E_INVALID_RECORD)
    const prompts = join(dir, "many.jsonl");
    writeFileSync(prompts, '"two"\n'.repeat(64));
    const r = await runCli([
      "model",
      "generate",
      "-c",
      ckpt,
      "--prompts",
      prompts,
      "--max-new-tokens",
      "20",
      "--seed",
      "1",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(64);
  });

  it("generate prints model text with its control characters escaped", async () => {
    // greedy "two plus" continues with U+0015 from this model; ESC would pass the same way
    const r = await runCli([
      "model",
      "generate",
      "-c",
      ckpt,
      "-p",
      "two plus",
      "-p",
      "bell\u0007 \u001b[2J",
      "--temperature",
      "0",
      "--max-new-tokens",
      "4",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain("\\u0015");
    expect(r.stdout).toContain("bell\\u0007 \\u001b[2J");
  });

  it("generate with a plain tokenizer names an empty prompt and keeps the end of a long one", async () => {
    // both failed as KEEL_E_SHAPE (exit 70) naming "prompt 0", the index inside the batch
    const gen = (...p: string[]) =>
      runCli(["model", "generate", "-c", ckpt, "--batch-size", "1", "--max-new-tokens", "2", ...p]);
    const empty = await gen("-p", "two", "-p", "");
    expect(empty.code).toBe(64);
    expect(empty.stderr).toMatch(/prompt 2 is empty/);
    const long = await gen("-p", "abcdefghijklmnopqrstuvwxyz0123456789", "--json");
    expect(long.code, long.stderr).toBe(0);
    expect(JSON.parse(long.stdout)[0].finish).toBe("length");
  });

  it("refuses an --out that would replace the prompts or the checkpoint, before any work", async () => {
    const prompts = join(dir, "keep.jsonl");
    writeFileSync(prompts, '"two"\n"four"\n');
    const over = await runCli([
      "model",
      "generate",
      "-c",
      ckpt,
      "--prompts",
      prompts,
      "--out",
      prompts,
    ]);
    expect(over.code).toBe(64);
    expect(over.stderr).toMatch(/the prompt file being read/);
    expect(readFileSync(prompts, "utf8")).toBe('"two"\n"four"\n');
    for (const file of ["tokenizer.json", "config.json"]) {
      const r = await runCli([
        "model",
        "generate",
        "-c",
        ckpt,
        "-p",
        "two",
        "--out",
        join(ckpt, file),
      ]);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/a file of the checkpoint/);
    }
    // export-onnx replaced model.safetensors with the .onnx, and the checkpoint no longer loaded
    const exp = await runCli([
      "model",
      "export-onnx",
      "-c",
      ckpt,
      "--out",
      join(ckpt, "model.safetensors"),
    ]);
    expect(exp.code).toBe(64);
    expect(exp.stderr).toMatch(/a file of the checkpoint/);
    const beside = await runCli([
      "model",
      "export-onnx",
      "-c",
      ckpt,
      "--out",
      join(ckpt, "m.onnx"),
    ]);
    expect(beside.code, beside.stderr).toBe(0);
    expect((await runCli(["model", "info", "-c", ckpt])).code).toBe(0);
  });

  it("names the flag of a sampling option out of range, as a usage error", async () => {
    // they failed as KEEL_E_CONFIG (exit 78) about "temperature" and "topP"
    for (const [flag, v] of [
      ["--temperature", "-1"],
      ["--top-p", "0"],
      ["--top-p", "1.5"],
    ] as const) {
      const r = await runCli(["model", "generate", "-c", ckpt, "-p", "two", flag, v]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`${flag} must be in`);
    }
  });

  it("info prints a checkpoint's trainer name escaped", async () => {
    const other = join(dir, "hostile");
    const m = new Gpt({ vocab: 8, dModel: 4, layers: 1, heads: 1, context: 4 }, { seed: 1 });
    saveCheckpoint(other, m, { extra: { trainer: "sft\u001b]0;owned\u0007" } });
    await m.dispose();
    const r = await runCli(["model", "info", "-c", other]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u001b\u0007]/);
    expect(r.stdout).toContain("keel train sft\\u001b]0;owned\\u0007");
    // and an ensemble's member names, which are directory names
    const ens = join(dir, "ens");
    const member = "m\u001b[2J";
    const mm = new Gpt({ vocab: 8, dModel: 4, layers: 1, heads: 1, context: 4 }, { seed: 1 });
    saveCheckpoint(join(ens, member), mm);
    await mm.dispose();
    writeEnsembleFile(ens, {
      format: "keel-reward-ensemble",
      kind: "reward",
      members: [member],
      scoring: "mean",
      lambda: 0,
      normalise: false,
    });
    const e = await runCli(["model", "info", "-c", ens]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).not.toContain("\u001b");
    expect(e.stdout).toContain("m\\u001b[2J");
  });

  it("init refuses sizes past what the engine can allocate, naming the parameter count", async () => {
    // the Float32Array allocation threw a bare RangeError: KEEL_E_INTERNAL and a stack trace
    const out = join(dir, "huge");
    const r = await runCli([
      "model",
      "init",
      "--out",
      out,
      "--vocab",
      "100000",
      "--d-model",
      "65536",
      "--layers",
      "1",
      "--heads",
      "1",
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("58,098,515,970 parameters");
    expect(r.stderr).not.toContain("KEEL_E_INTERNAL");
  });

  it("export-onnx writes into a FIFO in place instead of renaming a file over it", async () => {
    // the atomic rename replaced the FIFO (as root, --out /dev/null would replace the device)
    const fifo = join(dir, "pipe.onnx");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    let bytes = 0;
    reader.stdout.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    const done = new Promise((resolve) => reader.on("close", resolve));
    const r = await runCli(["model", "export-onnx", "-c", ckpt, "--out", fifo, "--json"]);
    const stillFifo = lstatSync(fifo).isFIFO();
    if (!stillFifo || r.code !== 0) reader.kill(); // it would wait for a writer forever
    await done;
    expect(stillFifo).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    expect(bytes).toBe(JSON.parse(r.stdout).bytes);
    expect(JSON.parse(r.stdout).max_abs_diff).toBeLessThan(1e-5);
  });
});
