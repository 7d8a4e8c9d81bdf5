/**
 * `keel run` killed at seeded moments between and during its stages (SIGKILL, and once each
 * SIGINT and SIGTERM), then `keel run --resume` (killed again once): the run completes with the
 * uninterrupted run's results — every stage's outputs byte for byte, the same summary.json —
 * and its record is consistent: state.json holds every stage and none left begun, manifest.json
 * names the files as they are, and no temporary file is left.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fileSha256 } from "../../src/pipeline/rundir.js";
import { runCli } from "../helpers/cli.js";
import { SMALL_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { ageTempFiles, keel, killTimes, tempFiles } from "./helpers.js";

const root = tempDir("keel-crash-pipeline-");
const config = join(root, "pipeline.yaml");

/** The checks of a run's end: its record is whole and it ran as the uninterrupted run. */
function expectComplete(out: string): void {
  const s = state(out);
  expect(s.started ?? {}).toEqual({});
  expect(outputs(s)).toEqual(whole.outputs);
  expect(readFileSync(join(out, "summary.json"), "utf8")).toBe(whole.summary);
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  expect(manifest.kind).toBe("pipeline");
  for (const [f, hash] of Object.entries(manifest.outputs as Record<string, string>))
    expect(fileSha256(join(out, f)), f).toBe(hash);
  expect(tempFiles(out)).toEqual([]);
}

/** Files whose bytes name the run's directory or the time it ran. */
const TIMED = new Set(["report.html", "run-card.json"]);

interface State {
  stages: Record<string, { outputs: Record<string, string> }>;
  started?: Record<string, unknown>;
}
const state = (dir: string) => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State;
/** Every stage's output hashes, by file (the timed ones aside). */
const outputs = (s: State) =>
  Object.fromEntries(
    Object.values(s.stages)
      .flatMap((st) => Object.entries(st.outputs))
      .filter(([f]) => !TIMED.has(f.split("/").pop()!)),
  );

let whole: { outputs: Record<string, string>; summary: string };

beforeAll(async () => {
  writeFileSync(config, JSON.stringify(SMALL_PIPELINE));
  const dir = join(root, "whole");
  const r = await runCli(["run", "--config", config, "--out", dir, "-q"]);
  expect(r.code, r.stderr).toBe(0);
  whole = {
    outputs: outputs(state(dir)),
    summary: readFileSync(join(dir, "summary.json"), "utf8"),
  };
});

let n = 0;

describe("keel run killed", () => {
  // Counted from when the run directory appears: the stages take about four seconds.
  const [a, b, c, d, e] = killTimes("pipeline", 5, 4500);
  const [again] = killTimes("pipeline-again", 1, 2500);
  const cases: [NodeJS.Signals, number, number | undefined][] = [
    ["SIGKILL", a!, undefined],
    ["SIGKILL", b!, again],
    ["SIGINT", c!, undefined],
    ["SIGKILL", d!, undefined],
    ["SIGTERM", e!, undefined],
  ];

  it.each(cases)(
    "by %s %i ms after it started (and in its resume at %s ms): --resume completes the same run",
    async (signal, afterMs, againMs) => {
      const out = join(root, `run-${n++}`);
      const run = ["run", "--config", config, "--out", out, "-q"];
      const when = () => existsSync(out);
      const first = await keel(run, { kill: { signal, afterMs, when } });
      if (first.signal === null) expect([0, 130]).toContain(first.code);
      if (signal !== "SIGKILL") expect(tempFiles(out)).toEqual([]);
      if (againMs !== undefined) {
        ageTempFiles(out);
        const second = await keel([...run, "--resume"], {
          kill: { signal: "SIGKILL", afterMs: againMs, when },
        });
        if (second.signal === null) expect(second.code, second.stderr).toBe(0);
      }
      ageTempFiles(out);
      const r = await runCli([...run, "--resume"]);
      expect(r.code, r.stderr).toBe(0);
      expectComplete(out);
    },
  );

  it("while it wrote its first file: --resume continues it (the temporary file is not a stranger's)", async () => {
    // As a SIGKILL during config.yaml's write leaves the directory (its writer's process gone).
    // Before, the run was refused with and without --resume: "holds other files
    // (config.yaml.tmp-…), not a keel run; choose another --out".
    const out = join(root, `run-${n++}`);
    mkdirSync(out);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(join(out, `config.yaml.tmp-${dead}-123456789`), "name: ti");
    ageTempFiles(out);
    const check = await runCli(["run", "--config", config, "--out", out, "--resume", "--check"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const r = await runCli(["run", "--config", config, "--out", out, "--resume", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expectComplete(out);
  });
});
