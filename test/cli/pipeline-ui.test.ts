/**
 * The progress output `keel run`, `keel demo` and the experiments share (pipelineEvents): on
 * `--resume`, each stage that runs again says why under its "[i/n] title" line, and `-q`
 * silences it. The stages are stand-ins: "train" stops at its first step unless told to finish.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pipelineEvents } from "../../src/cli/actions/pipeline-ui.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { interrupted, Runner, type Stage } from "../../src/pipeline/runner.js";
import { tempDir } from "../helpers/stores.js";

function stages(lr: number, stop: boolean, abort: AbortController): Stage[] {
  const write = (name: string, text: string) => (ctx: { run: RunDir }) => {
    writeFileSync(ctx.run.file(name), text);
    return Promise.resolve({});
  };
  return [
    {
      key: "data",
      title: "data",
      weight: 1,
      config: {},
      after: [],
      outputs: ["data.txt"],
      run: write("data.txt", "d"),
    },
    {
      key: "train",
      title: "train",
      weight: 1,
      config: { lr },
      after: ["data"],
      outputs: ["model.txt"],
      async run(ctx) {
        if (stop) {
          abort.abort();
          throw interrupted();
        }
        return write("model.txt", String(lr))(ctx);
      },
    },
  ];
}

/** One attempt of the run with the CLI's progress output; what it wrote to stderr. */
async function attempt(
  out: string,
  lr: number,
  o: { stop?: boolean; resume?: boolean; quiet?: boolean },
) {
  const abort = new AbortController();
  let stderr = "";
  // Lines, not a redrawn bar: the output as a log file or CI shows it.
  const tty = process.stderr.isTTY;
  process.stderr.isTTY = false;
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const runner = new Runner(
      new RunDir(out, { pipeline: 1 }),
      stages(lr, o.stop ?? false, abort),
      pipelineEvents(o.quiet ?? false),
    );
    if (o.resume) runner.loadState();
    await runner.runAll(abort.signal, o.resume ?? false).catch((e: { code?: string }) => {
      if (e.code !== "KEEL_E_INTERRUPTED") throw e;
    });
  } finally {
    spy.mockRestore();
    process.stderr.isTTY = tty;
  }
  // Durations vary; the lines around them are the point.
  return stderr.replace(/done in [^\n]*/g, "done in T");
}

describe("pipeline progress output on --resume", () => {
  const dir = tempDir("keel-pipeline-ui-");

  it("says under the stage's line whether it continues or starts again, and why", async () => {
    const out = join(dir, "run");
    await attempt(out, 0.1, { stop: true });
    expect(await attempt(out, 0.1, { resume: true })).toBe(
      [
        "[1/2] data (done earlier, kept)",
        "[2/2] train",
        "  resumed: interrupted; continuing from its last checkpoint",
        "  done in T",
        "",
      ].join("\n"),
    );
    expect(await attempt(out, 0.2, { resume: true })).toBe(
      [
        "[1/2] data (done earlier, kept)",
        "[2/2] train",
        "  re-run: its settings changed",
        "  done in T",
        "",
      ].join("\n"),
    );
  });

  it("prints nothing with --quiet, nor on a run without --resume", async () => {
    const out = join(dir, "quiet");
    await attempt(out, 0.1, { stop: true });
    expect(await attempt(out, 0.2, { resume: true, quiet: true })).toBe("");
    const fresh = await attempt(join(dir, "fresh"), 0.1, {});
    expect(fresh).not.toMatch(/re-run|resumed/);
  });
});

describe("pipeline progress lines", () => {
  /** What `onStageProgress` wrote to a log (not a terminal), call by call. */
  function progressLog() {
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = false;
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => {
      lines.push(String(c));
      return true;
    });
    const events = pipelineEvents(false);
    const stage = stages(0.1, false, new AbortController())[0]!;
    return {
      lines,
      progress: (fraction: number, eta?: number) =>
        events.onStageProgress?.(stage, fraction, "step", eta),
      restore: () => {
        spy.mockRestore();
        process.stderr.isTTY = tty;
      },
    };
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps logging every 10 s when the date is set back an hour", () => {
    vi.useFakeTimers({ toFake: ["Date", "performance"], now: Date.UTC(2026, 2, 1) });
    const log = progressLog();
    try {
      vi.advanceTimersByTime(20_000);
      log.progress(0.1);
      vi.setSystemTime(Date.now() - 3_600_000);
      vi.advanceTimersByTime(11_000);
      log.progress(0.2);
    } finally {
      log.restore();
    }
    expect(log.lines.map((l) => /\d+%/.exec(l)?.[0])).toEqual(["10%", "20%"]);
  });

  it("draws a fraction outside 0..1 as its nearest end instead of throwing", () => {
    const log = progressLog();
    try {
      log.progress(-0.2, 5);
      expect(log.lines).toEqual(["  [--------------------]   0% (run ETA 5.0s) step\n"]);
    } finally {
      log.restore();
    }
  });
});
