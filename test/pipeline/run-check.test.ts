/** `keel run --check`: the whole plan resolved from the file, the stages listed, nothing run. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel run --check", () => {
  const dir = tempDir("keel-run-check-");

  it("accepts every example pipeline config", async () => {
    const files = readdirSync("examples").filter((f) => /^pipeline.*\.yaml$/.test(f));
    expect(files).toContain("pipeline-entity.yaml");
    for (const f of files) {
      const r = await runCli(["run", "-c", `examples/${f}`, "-o", join(dir, f), "--check"]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
    }
  });

  it("lists the example pipeline's stages in order and writes nothing", async () => {
    const out = join(dir, "run");
    const r = await runCli(["run", "-c", "examples/pipeline.yaml", "-o", out, "--check", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const keys = j.stages.map((s: { key: string }) => s.key);
    expect(keys[0]).toBe("world");
    expect(keys.at(-1)).toBe("report");
    for (const arm of ["undefended", "defended"])
      for (const s of ["preferences", "reward", "rm-eval", "policy", "evaluate"])
        expect(keys).toContain(`${arm}/${s}`);
    // Every stage comes after the stages it depends on.
    for (const [i, s] of j.stages.entries())
      for (const a of s.after) expect(keys.indexOf(a), `${s.key} after ${a}`).toBeLessThan(i);
    const shares = j.stages.reduce((a: number, s: { share: number }) => a + s.share, 0);
    expect(shares).toBeCloseTo(1, 9);
    expect(j.existing_run).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it("says whether a run already in --out would be continued or refused, in --json too", async () => {
    const out = join(dir, "held");
    mkdirSync(out);
    writeFileSync(join(out, "state.json"), '{"format":"keel-run-state/1","stages":{}}');
    const check = (...flags: string[]) =>
      runCli(["run", "-c", "examples/pipeline.yaml", "-o", out, "--check", ...flags]);
    const plain = await check();
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`${out} already holds a run: pass --resume to continue it`);
    // With --resume the run would go on: it is not told to pass the flag it was given.
    const resumed = await check("--resume");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).not.toContain("pass --resume");
    expect(resumed.stdout).toContain(`${out} holds a run: --resume continues it`);
    const json = JSON.parse((await check("--json")).stdout);
    expect(json.existing_run).toBe(true);
    expect(json.refused).toContain(`${out} already holds a run`);
    expect(JSON.parse((await check("--json", "--resume")).stdout).refused).toBeNull();
    expect(JSON.parse((await check("--json")).stdout).stages.length).toBeGreaterThan(0);
    const fresh = await runCli([
      "run",
      "-c",
      "examples/pipeline.yaml",
      "-o",
      join(dir, "new"),
      "--check",
      "--json",
    ]);
    expect(JSON.parse(fresh.stdout).refused).toBeNull();
  });

  it("names the file, line and field of a bad trainer setting deep in the plan", async () => {
    const file = join(dir, "bad.yaml");
    const text = readFileSync("examples/pipeline.yaml", "utf8").replace(
      "train: { epochs: 1 }",
      "train: { epochz: 1 }",
    );
    expect(text).toContain("epochz");
    writeFileSync(file, text);
    const line = text.split("\n").findIndex((l) => l.includes("epochz")) + 1;
    const r = await runCli(["run", "-c", file, "-o", join(dir, "bad"), "--check"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${file}:${line}: reward_model.train.epochz`);
  });

  it("fails on a base checkpoint that is not there", async () => {
    const file = join(dir, "nobase.yaml");
    const text = readFileSync("examples/pipeline.yaml", "utf8").replace(
      /^base:.*\n {2}sft: .*$/m,
      `base: { checkpoint: ${join(dir, "no-model")} }`,
    );
    expect(text).toContain("no-model");
    writeFileSync(file, text);
    const r = await runCli(["run", "-c", file, "-o", join(dir, "nb"), "--check"]);
    expect(r.code, r.stderr).toBe(66);
    const line = text.split("\n").findIndex((l) => l.includes("no-model")) + 1;
    expect(r.stderr).toContain(
      `${file}:${line}: base.checkpoint: no checkpoint at ${join(dir, "no-model")}`,
    );
  });

  it("fails on a base checkpoint that is a reward model, not a policy", async () => {
    const rm = join(dir, "rm-model");
    mkdirSync(rm);
    // What keel train rm writes says what it is (extra.kind); that is all the check reads.
    writeFileSync(join(rm, "config.json"), JSON.stringify({ extra: { kind: "reward" } }));
    const file = join(dir, "rmbase.yaml");
    const text = readFileSync("examples/pipeline.yaml", "utf8").replace(
      /^base:.*\n {2}sft: .*$/m,
      `base: { checkpoint: ${rm} }`,
    );
    writeFileSync(file, text);
    const r = await runCli(["run", "-c", file, "-o", join(dir, "rb"), "--check"]);
    expect(r.code, r.stderr).toBe(65);
    const line = text.split("\n").findIndex((l) => l.includes(rm)) + 1;
    expect(r.stderr).toContain(
      `KEEL_E_CHECKPOINT: ${file}:${line}: base.checkpoint: ${rm} is a reward model`,
    );
  });
});
