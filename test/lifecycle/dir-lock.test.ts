/**
 * One writer per run directory (src/core/dir-lock.ts). Two `keel train` or `keel run` commands
 * on one directory: the second is refused (KEEL_E_BUSY, naming the directory, the holder's
 * process id and command) and the first ends as a lone run does. A lock left by a SIGKILLed
 * holder is taken over with a note; one from another host is not. The lock is gone after a
 * normal end, an error, Ctrl-C and process.exit.
 *
 * The first command is paused with SIGSTOP while the second runs, so that "at the same time"
 * does not depend on how fast either is.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LOCK_FILE, lockDir, lockRefusal } from "../../src/core/dir-lock.js";
import { foreignContents } from "../../src/pipeline/run-kind.js";
import { ROOT } from "../crash/helpers.js";
import { runCli } from "../helpers/cli.js";
import { refusal } from "../helpers/errors.js";
import { SMALL_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { untimedLines } from "../train/fixtures.js";

const root = tempDir("keel-dir-lock-");
const jsonl = (rows: readonly object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
const lockOf = (dir: string) => join(dir, LOCK_FILE);
/** A process id that names no live process: one that has ended. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

function lockRecord(over: Record<string, unknown>): string {
  return `${JSON.stringify({
    pid: 1,
    host: hostname(),
    started_at: "2026-01-01T00:00:00.000Z",
    command: ["run", "--out", "x"],
    token: "t",
    ...over,
  })}\n`;
}

describe("lockDir", () => {
  it("refuses a second holder, naming the directory, process and command; free again once released", () => {
    const dir = join(root, "twice");
    mkdirSync(dir);
    const first = lockDir(dir, { command: ["train", "rm", "--out", dir] });
    const e = refusal(() => lockDir(dir));
    expect(e.code).toBe("KEEL_E_BUSY");
    expect(e.message).toContain(`${dir} is being written by another keel command`);
    expect(e.message).toContain(`process ${process.pid} on ${hostname()}`);
    expect(e.message).toContain(`"keel train rm --out ${dir}"`);
    // Spelled another way, it is the same directory and the same lock.
    expect(refusal(() => lockDir(relative(process.cwd(), dir))).code).toBe("KEEL_E_BUSY");
    first.release();
    expect(existsSync(lockOf(dir))).toBe(false);
    lockDir(dir).release();
  });

  it("takes over a lock whose process is gone, with a note naming it", () => {
    const dir = join(root, "stale");
    mkdirSync(dir);
    const pid = deadPid();
    writeFileSync(lockOf(dir), lockRecord({ pid }));
    const notes: string[] = [];
    const lock = lockDir(dir, { note: (l) => notes.push(l) });
    expect(notes).toEqual([
      `${dir}: took over the lock left by keel process ${pid} on ${hostname()} ("keel run --out x", since 2026-01-01T00:00:00.000Z), which no longer runs`,
    ]);
    expect(JSON.parse(readFileSync(lockOf(dir), "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(existsSync("/proc/self/stat"))(
    "takes over a lock whose process id now names another process (another start time)",
    () => {
      const dir = join(root, "reused");
      mkdirSync(dir);
      writeFileSync(lockOf(dir), lockRecord({ pid: process.ppid, proc_start: "1" }));
      const lock = lockDir(dir, { note: () => {} });
      expect(lock.tookOver).toContain(`process ${process.ppid}`);
      lock.release();
    },
  );

  it("escapes what the lock file says when it shows it", () => {
    const dir = join(root, "escape");
    mkdirSync(dir);
    writeFileSync(lockOf(dir), lockRecord({ pid: deadPid(), command: ["run\u001b[2J"] }));
    const notes: string[] = [];
    lockDir(dir, { note: (l) => notes.push(l) }).release();
    expect(notes[0]).toContain('"keel run\\u001b[2J"');
  });

  it("does not take over a lock from another host: says how to remove it", () => {
    const dir = join(root, "remote");
    mkdirSync(dir);
    writeFileSync(lockOf(dir), lockRecord({ pid: deadPid(), host: "elsewhere" }));
    const e = refusal(() => lockDir(dir));
    expect(e.code).toBe("KEEL_E_BUSY");
    expect(e.message).toContain("on elsewhere");
    expect(e.hint).toContain(`remove ${lockOf(dir)}`);
    expect(existsSync(lockOf(dir))).toBe(true);
  });

  it("leaves alone a lock taken over from it; removes the directory it made if still empty", () => {
    const dir = join(root, "made");
    mkdirSync(dir);
    const lock = lockDir(dir, { removeDir: true });
    writeFileSync(lockOf(dir), lockRecord({ token: "someone else" }));
    lock.release();
    expect(existsSync(lockOf(dir))).toBe(true);
    const empty = join(root, "made-empty");
    mkdirSync(empty);
    lockDir(empty, { removeDir: true }).release();
    expect(existsSync(empty)).toBe(false);
  });

  it("lockRefusal says what taking the lock would be refused with, writing nothing", () => {
    const dir = join(root, "peek");
    mkdirSync(dir);
    expect(lockRefusal(dir)).toBeUndefined();
    expect(lockRefusal(join(root, "no-such-dir"))).toBeUndefined();
    const lock = lockDir(dir, { command: ["train", "rm"] });
    const e = lockRefusal(dir);
    expect(e?.code).toBe("KEEL_E_BUSY");
    expect(e?.message).toContain(`${dir} is being written by another keel command`);
    lock.release();
    // A holder that is gone would be taken over: no refusal, and the file is left as it was.
    const stale = lockRecord({ pid: deadPid() });
    writeFileSync(lockOf(dir), stale);
    expect(lockRefusal(dir)).toBeUndefined();
    expect(readFileSync(lockOf(dir), "utf8")).toBe(stale);
    writeFileSync(lockOf(dir), lockRecord({ pid: deadPid(), host: "elsewhere" }));
    expect(lockRefusal(dir)?.message).toContain("on elsewhere");
    writeFileSync(lockOf(dir), "");
    expect(lockRefusal(dir)?.message).toContain("its lock file is being written");
  });

  it("is not content: a directory holding only a lock is empty to the run checks", () => {
    const dir = join(root, "only-lock");
    mkdirSync(dir);
    const lock = lockDir(dir);
    expect(existsSync(lockOf(dir))).toBe(true);
    expect(foreignContents(dir)).toBeUndefined();
    lock.release();
  });

  it("is released by process.exit (a second Ctrl-C ends keel so)", () => {
    const dir = join(root, "exit");
    mkdirSync(dir);
    const code = `import { existsSync } from "node:fs";
      import { lockDir } from ${JSON.stringify(join(ROOT, "src/core/dir-lock.ts"))};
      lockDir(process.argv[1]);
      process.stdout.write(String(existsSync(${JSON.stringify(lockOf(dir))})));
      process.exit(130);`;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", code, dir],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(130);
    expect(r.stdout).toBe("true");
    expect(existsSync(lockOf(dir))).toBe(false);
  });
});

// ---- keel train: two commands on one output directory -------------------------------------

const SFT = ["pick one", "say yes", "the sky is blue", "grass is green", "two and two"].map(
  (p, i) => ({ prompt: p, completion: ["A", "yes", "blue", "green", "four"][i]! }),
);

const train = (out: string, ...more: string[]) => [
  "train",
  "sft",
  "--config",
  join(root, "sft.yaml"),
  "--out",
  out,
  "--threads",
  "1",
  "-q",
  ...more,
];

let lone: string[];

/** Resolves once `ready()` holds (polled). */
const until = (ready: () => boolean) =>
  new Promise<void>((done) => {
    const poll = setInterval(() => {
      if (!ready()) return;
      clearInterval(poll);
      done();
    }, 2);
  });

/** Whether the process is stopped (Linux; elsewhere assumed once SIGSTOP was sent). */
const isStopped = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!);
  } catch {
    return true;
  }
};

/**
 * `keel <args>` in a child process, paused (SIGSTOP) as soon as it has begun writing `dir` (its
 * config.yaml, written under the lock): the second command then runs while the first is in the
 * middle of its own, however fast either is.
 */
async function startPaused(args: readonly string[], dir: string) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test/crash/keel-child.ts"), ...args],
    { cwd: ROOT, env: { ...process.env, KEEL_THREADS: "1" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const ended = new Promise<{ code: number | null; signal: string | null; stderr: string }>((r) =>
    child.once("close", (code, signal) => r({ code, signal, stderr })),
  );
  await until(() => existsSync(join(dir, "config.yaml")));
  child.kill("SIGSTOP");
  await until(() => isStopped(child.pid!));
  return { pid: child.pid!, ended, child };
}

describe("keel train", () => {
  beforeAll(async () => {
    writeFileSync(join(root, "sft.jsonl"), jsonl(SFT));
    writeFileSync(
      join(root, "sft.yaml"),
      [
        `data: { train: ${join(root, "sft.jsonl")}, eval: ${join(root, "sft.jsonl")} }`,
        "model:",
        "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
        "  tokenizer: { vocab_size: 280 }",
        "train: { steps: 30, batch_size: 2 }",
        "run: { log_every: 1, eval_every: 4, checkpoint_every: 3 }",
      ].join("\n"),
    );
    const out = join(root, "train-lone");
    const r = await runCli(train(out));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(lockOf(out))).toBe(false);
    lone = untimedLines(out);
  });

  it("a second command on a directory being trained is refused; the first ends as a lone run", async () => {
    const out = join(root, "train-two");
    const first = await startPaused(train(out), out);
    // A retry with --resume, and a new run, while the first holds the directory.
    const seconds = [await runCli(train(out, "--resume")), await runCli(train(out))];
    // --check refuses what the command would refuse.
    seconds.push(await runCli(train(out, "--check")));
    first.child.kill("SIGCONT");
    const ended = await first.ended;
    expect(ended.code, ended.stderr).toBe(0);
    for (const r of seconds) {
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toContain(
        `KEEL_E_BUSY: ${out} is being written by another keel command: process ${first.pid}`,
      );
      expect(r.stderr).toContain(`"keel train sft --config ${join(root, "sft.yaml")}`);
    }
    expect(untimedLines(out)).toEqual(lone);
    expect(existsSync(lockOf(out))).toBe(false);
  });

  it("a lock left by a SIGKILLed run is taken over by --resume, which completes the run", async () => {
    const out = join(root, "train-killed");
    const first = await startPaused(train(out), out);
    first.child.kill("SIGKILL");
    expect((await first.ended).signal).toBe("SIGKILL");
    expect(existsSync(lockOf(out))).toBe(true);
    const r = await runCli(train(out, "--resume"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${out}: took over the lock left by keel process ${first.pid} on`);
    expect(untimedLines(out)).toEqual(lone);
    expect(existsSync(lockOf(out))).toBe(false);
  });

  it("the lock is released after Ctrl-C and after an error", async () => {
    const out = join(root, "train-int");
    const first = await startPaused(train(out), out);
    expect(existsSync(lockOf(out))).toBe(true);
    first.child.kill("SIGINT");
    first.child.kill("SIGCONT");
    const ended = await first.ended;
    expect(ended.code, ended.stderr).toBe(130);
    expect(existsSync(lockOf(out))).toBe(false);
    // Refused under the lock (a killed command's, taken over): the run is complete.
    const done = join(root, "train-lone");
    writeFileSync(lockOf(done), lockRecord({ pid: deadPid() }));
    const again = await runCli(train(done, "--resume"));
    expect(again.code).toBe(64);
    expect(again.stderr).toContain(`${done}: took over the lock`);
    expect(again.stderr).toContain("is complete");
    expect(existsSync(lockOf(done))).toBe(false);
  });
});

// ---- keel run -------------------------------------------------------------------------------

/** Files whose bytes name the run's directory or the time it ran. */
const TIMED = new Set(["report.html", "run-card.json"]);

/** Every stage's output hashes, by file (the timed ones aside), and no stage left begun. */
function stageOutputs(dir: string): Record<string, string> {
  const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as {
    stages: Record<string, { outputs: Record<string, string> }>;
    started?: Record<string, unknown>;
  };
  expect(s.started ?? {}).toEqual({});
  return Object.fromEntries(
    Object.values(s.stages)
      .flatMap((st) => Object.entries(st.outputs))
      .filter(([f]) => !TIMED.has(f.split("/").pop()!)),
  );
}

describe("keel run", () => {
  const config = join(root, "pipeline.yaml");
  const run = (out: string, ...more: string[]) => [
    "run",
    "--config",
    config,
    "--out",
    out,
    "-q",
    ...more,
  ];

  it("a second run on a directory being run is refused; the first ends as a lone run", async () => {
    writeFileSync(config, JSON.stringify(SMALL_PIPELINE));
    const out = join(root, "run-two");
    const first = await startPaused(run(out), out);
    const lone = join(root, "run-lone");
    const l = await runCli(run(lone));
    expect(l.code, l.stderr).toBe(0);
    const seconds = [await runCli(run(out, "--resume")), await runCli(run(out))];
    // --check reports where the run would go: refused, by the lock.
    const check = await runCli(run(out, "--check", "--json"));
    first.child.kill("SIGCONT");
    const ended = await first.ended;
    expect(ended.code, ended.stderr).toBe(0);
    for (const r of seconds) {
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toContain(
        `KEEL_E_BUSY: ${out} is being written by another keel command: process ${first.pid}`,
      );
      expect(r.stderr).toContain(`"keel run --config ${config} --out ${out} -q"`);
    }
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).refused).toContain(
      `${out} is being written by another keel command: process ${first.pid}`,
    );
    expect(stageOutputs(out)).toEqual(stageOutputs(lone));
    expect(readFileSync(join(out, "summary.json"), "utf8")).toBe(
      readFileSync(join(lone, "summary.json"), "utf8"),
    );
    expect(existsSync(lockOf(out))).toBe(false);
  });

  it("the lock is released after an error under it", async () => {
    const out = join(root, "run-error");
    mkdirSync(out);
    writeFileSync(join(out, "state.json"), "{ not json");
    writeFileSync(lockOf(out), lockRecord({ pid: deadPid() }));
    const r = await runCli(run(out, "--resume"));
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(`${out}: took over the lock`);
    expect(r.stderr).toContain("state.json is not valid JSON");
    expect(existsSync(lockOf(out))).toBe(false);
  });
});
