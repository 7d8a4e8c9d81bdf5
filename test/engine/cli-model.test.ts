import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { trainBpe } from "../../src/engine/tokenizer/train.js";
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
});
