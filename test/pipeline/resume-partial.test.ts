/**
 * `--resume` after a stage's later attempt failed or was interrupted part-way: files it rewrote
 * that are not among its listed outputs (a collect stage's keel.db, say) no longer hold what the
 * finished record describes, so the stage is not kept, whatever its listed outputs say. And a
 * stage that finished although Ctrl-C came while it ran (one that does not watch the signal) is
 * recorded before the run stops, not thrown away.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { interrupted, Runner, type Stage } from "../../src/pipeline/runner.js";
import { tempDir } from "../helpers/stores.js";

interface Settings {
  /** The collect stage's source; "bad" fails part-way, as a file with a broken record does. */
  readonly source: string;
  /** Ctrl-C while `use` runs: it stops there (`stop`) or finishes all the same (`finish`). */
  readonly ctrlC?: "stop" | "finish";
}

function stages(s: Settings, abort: AbortController): Stage[] {
  return [
    {
      key: "collect",
      title: "collect",
      weight: 1,
      config: { source: s.source },
      after: [],
      outputs: ["collect.json"],
      async run(ctx) {
        // The store is replaced first, as the collect stage replaces keel.db.
        rmSync(ctx.run.file("db.txt"), { force: true });
        writeFileSync(ctx.run.file("db.txt"), s.source);
        if (s.source === "bad") throw new KeelError("KEEL_E_INVALID_RECORD", "line 2: broken");
        writeFileSync(ctx.run.file("collect.json"), s.source);
        return {};
      },
    },
    {
      key: "use",
      title: "use the store",
      weight: 1,
      config: {},
      after: ["collect"],
      outputs: ["use.txt"],
      async run(ctx) {
        if (s.ctrlC !== undefined) abort.abort();
        if (s.ctrlC === "stop") throw interrupted();
        writeFileSync(ctx.run.file("use.txt"), readFileSync(ctx.run.file("db.txt")));
        return {};
      },
    },
  ];
}

async function attempt(out: string, s: Settings, resume: boolean): Promise<string[]> {
  const abort = new AbortController();
  const ran: string[] = [];
  const runner = new Runner(new RunDir(out, { pipeline: 1 }), stages(s, abort), {
    onStageStart: (_i, _n, stage, skipped) => void (skipped || ran.push(stage.key)),
  });
  if (resume) runner.loadState();
  try {
    await runner.runAll(abort.signal, resume);
  } catch (e) {
    if (!(e instanceof KeelError)) throw e;
  }
  return ran;
}

describe("--resume after a stage's later attempt stopped part-way", () => {
  const dir = tempDir("keel-resume-partial-");

  it("runs a stage again whose later attempt failed after rewriting its files", async () => {
    const out = `${dir}/failed`;
    await attempt(out, { source: "A", ctrlC: "stop" }, false);
    // Resumed with another source that fails part-way, then with the first source again.
    expect(await attempt(out, { source: "bad" }, true)).toEqual(["collect"]);
    expect(readFileSync(`${out}/collect.json`, "utf8")).toBe("A");
    expect(await attempt(out, { source: "A" }, true)).toEqual(["collect", "use"]);
    expect(readFileSync(`${out}/db.txt`, "utf8")).toBe("A");
    expect(readFileSync(`${out}/use.txt`, "utf8")).toBe("A");
  });

  it("records a stage that finished although Ctrl-C came while it ran", async () => {
    const out = `${dir}/finished`;
    await attempt(out, { source: "A", ctrlC: "finish" }, false);
    expect(existsSync(`${out}/use.txt`)).toBe(true);
    const state = JSON.parse(readFileSync(`${out}/state.json`, "utf8"));
    expect(Object.keys(state.stages)).toEqual(["collect", "use"]);
    expect(await attempt(out, { source: "A" }, true)).toEqual([]);
  });
});
