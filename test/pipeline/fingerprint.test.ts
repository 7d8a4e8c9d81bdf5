/**
 * A stage's fingerprint names paths inside the run directory relative to it, so `--resume`
 * keeps finished stages however `--out` is spelled (`d` or `/abs/d`): they used to re-run.
 */
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner, type Stage } from "../../src/pipeline/runner.js";
import { tempDir } from "../helpers/stores.js";

function stages(runPath: string, lr: number, ran: string[]): Stage[] {
  return [
    {
      key: "train",
      title: "train",
      weight: 1,
      config: { init: `${runPath}/base/model`, lr },
      after: [],
      outputs: ["out.txt"],
      async run(ctx) {
        ran.push("train");
        writeFileSync(ctx.run.file("out.txt"), "x");
        return { ok: true };
      },
    },
  ];
}

async function go(runPath: string, lr: number, resume: boolean): Promise<string[]> {
  const ran: string[] = [];
  const run = new RunDir(runPath, { pipeline: 1 });
  const runner = new Runner(run, stages(run.path, lr, ran));
  if (resume) runner.loadState();
  await runner.runAll(new AbortController().signal, resume);
  return ran;
}

describe("stage fingerprints", () => {
  it("keep a finished stage whether the run directory is spelled relative or absolute", async () => {
    const abs = join(tempDir(), "run");
    const rel = relative(process.cwd(), abs);
    expect(await go(rel, 0.1, false)).toEqual(["train"]);
    expect(await go(abs, 0.1, true)).toEqual([]);
    expect(await go(`${abs}/`, 0.1, true)).toEqual([]);
    // A changed setting still re-runs it.
    expect(await go(abs, 0.2, true)).toEqual(["train"]);
  });
});
