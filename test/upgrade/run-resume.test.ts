/**
 * `--resume` of a run directory an older keel began. Its state.json (keel before 2026-12-06)
 * kept each stage's fingerprint but not what it covered, so a stage whose fingerprint differs
 * now re-runs, and the reason says the record is too old to tell what changed — not "an
 * upstream stage changed" of a stage that has none (`keel demo --resume` of such a run said so
 * of its first stage).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner, type Stage } from "../../src/pipeline/runner.js";
import { tempDir } from "../helpers/stores.js";

function stages(lr: number, ran: string[]): Stage[] {
  const stage = (key: string, after: string[]): Stage => ({
    key,
    title: key,
    weight: 1,
    config: { lr },
    after,
    outputs: [`${key}.txt`],
    async run(ctx) {
      ran.push(key);
      writeFileSync(ctx.run.file(`${key}.txt`), key);
      return { ok: true };
    },
  });
  return [stage("world", []), stage("reward", ["world"])];
}

async function go(path: string, lr: number, resume: boolean) {
  const ran: string[] = [];
  const reasons: Record<string, string> = {};
  const runner = new Runner(new RunDir(path, { pipeline: 1 }), stages(lr, ran), {
    onStageRerun: (s, reason) => {
      reasons[s.key] = reason;
    },
  });
  if (resume) runner.loadState();
  await runner.runAll(new AbortController().signal, resume);
  return { ran, reasons };
}

describe("resuming a run an older keel recorded", () => {
  it("re-runs the stages whose fingerprint differs, saying the record cannot tell why", async () => {
    const path = join(tempDir(), "run");
    await go(path, 0.1, false);
    // The record as keel e09be84 wrote it: fingerprints only.
    const file = join(path, "state.json");
    const state = JSON.parse(readFileSync(file, "utf8"));
    for (const rec of Object.values(state.stages) as Record<string, unknown>[]) {
      delete rec.config_sha256;
      delete rec.upstream;
    }
    writeFileSync(file, JSON.stringify(state));

    const { ran, reasons } = await go(path, 0.2, true);
    expect(ran).toEqual(["world", "reward"]);
    expect(reasons.world).toBe(
      "it was recorded by an older keel, which kept too little to say what changed (its settings or keel itself)",
    );
    expect(reasons.reward).toBe(
      "it was recorded by an older keel, which kept too little to say what changed (its settings, an upstream stage or keel itself)",
    );
    // Recorded anew, a later resume keeps both.
    expect((await go(path, 0.2, true)).ran).toEqual([]);
  });
});
