/**
 * Real kills: a training child process is sent SIGKILL (nothing runs after it: no handler, no
 * final save) at a chosen step, or while its checkpoint is being written, and the run resumed
 * in this process ends exactly as an uninterrupted one — metrics.jsonl line for line (wall-clock
 * fields aside), the final weights bit for bit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { CheckpointStore } from "../../src/train/common/run.js";
import { tinyCheckpoint, tmp, untimedLines } from "./fixtures.js";
import { TRAINERS } from "./resume-child.js";

const lines = untimedLines;
const weights = (dir: string) => {
  const m = loadCheckpoint(dir).model;
  const b = Buffer.from(m.params.flat.buffer, m.params.flat.byteOffset, m.params.flat.byteLength);
  const copy = Buffer.from(b);
  void m.dispose();
  return copy;
};

function child(trainer: string, init: string, out: string, stopAt: string[]): ChildProcess {
  return spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "resume-child.ts"),
      trainer,
      init,
      out,
      ...stopAt,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
}

/**
 * Runs the child until `when` and kills it: at a progress line (where the child stops dead until
 * the kill), or as soon as a poll of the run directory says so.
 */
async function killChild(
  trainer: string,
  init: string,
  out: string,
  when: { line: string } | { poll: () => boolean },
): Promise<void> {
  const p = child(trainer, init, out, "line" in when ? when.line.split(" ") : []);
  let timer: NodeJS.Timeout | undefined;
  const kill = () => {
    if (timer) clearInterval(timer);
    p.kill("SIGKILL");
  };
  if ("line" in when) {
    let buf = "";
    p.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.split("\n").includes(when.line)) kill();
    });
  } else {
    p.stdout!.resume();
    timer = setInterval(() => {
      if (when.poll()) kill();
    }, 1);
  }
  const signal = await new Promise<NodeJS.Signals | null>((res) =>
    p.on("exit", (_code, sig) => res(sig)),
  );
  if (timer) clearInterval(timer);
  expect(signal).toBe("SIGKILL");
}

async function resumeMatches(trainer: string, init: string, whole: string, out: string) {
  let first: number | undefined;
  const r = await TRAINERS[trainer]!(init, {
    outDir: out,
    threads: 1,
    resume: true,
    onProgress: (e) => {
      if (e.phase !== "eval") first ??= e.step;
    },
  });
  expect(r.status).toBe("completed");
  expect(lines(out)).toEqual(lines(whole));
  expect(weights(join(out, "model")).equals(weights(join(whole, "model")))).toBe(true);
  return first;
}

describe.each(["sft", "ppo"])("%s killed with SIGKILL", (trainer) => {
  const init = tinyCheckpoint(tmp("init"));
  const whole = tmp("whole");
  const ready = TRAINERS[trainer]!(init, { outDir: whole, threads: 1 });

  it("mid-epoch, after a checkpoint and an eval, resumes from that checkpoint", async () => {
    await ready;
    const out = tmp("killed");
    await killChild(trainer, init, out, { line: "train 7" });
    expect(new CheckpointStore(out).latest()?.step).toBe(6);
    expect(await resumeMatches(trainer, init, whole, out)).toBe(7);
  });

  it("while a checkpoint is being written resumes from it or the one before", async () => {
    await ready;
    const out = tmp("killed");
    const dir = join(out, "checkpoints", "step-0000004");
    await killChild(trainer, init, out, { poll: () => existsSync(dir) });
    const at = new CheckpointStore(out).latest()?.step;
    expect([2, 4]).toContain(at);
    expect(await resumeMatches(trainer, init, whole, out)).toBe(at! + 1);
  });
});
