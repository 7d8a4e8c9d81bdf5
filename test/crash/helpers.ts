/**
 * Crash-point fuzzing: run a real keel process (keel-child.ts, from the sources), kill it at a
 * seeded moment after it started, and let the test check what the kill left behind. A kill that
 * lands after the process already ended is fine: the invariants must hold then too.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/core/rng.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = join(ROOT, "test/crash/keel-child.ts");
const STARTED = "keel-child: started\n";

export interface Ended {
  /** The exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether the kill was sent before the process had ended. */
  readonly killed: boolean;
}

/** When to kill: `afterMs` after the child started, or after `when()` (polled) first held. */
export interface KillAt {
  readonly signal: NodeJS.Signals;
  readonly afterMs: number;
  readonly when?: () => boolean;
}

/**
 * Runs `keel <args>` in a child process. With `kill`, sends its signal `afterMs` after the
 * child says it started, or after `kill.when()` holds (SIGKILL: nothing of keel runs after it).
 */
export function keel(
  args: readonly string[],
  opts: {
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly kill?: KillAt;
  } = {},
): Promise<Ended> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, KEEL_THREADS: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let exited = false;
  const arm = (k: KillAt) => {
    timer = setTimeout(() => {
      if (exited) return;
      killed = true;
      child.kill(k.signal);
    }, k.afterMs);
  };
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    const had = stderr.includes(STARTED);
    stderr += c.toString();
    const k = opts.kill;
    if (had || !stderr.includes(STARTED) || !k) return;
    if (!k.when) return arm(k);
    poll = setInterval(() => {
      if (!k.when!()) return;
      clearInterval(poll);
      arm(k);
    }, 1);
  });
  child.once("exit", () => {
    exited = true;
    clearTimeout(timer);
    clearInterval(poll);
  });
  // "close": after the exit, once the pipes have given their last output.
  return new Promise((resolve) =>
    child.once("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr: stderr.replace(STARTED, ""), killed }),
    ),
  );
}

/** `n` kill delays in [0, maxMs), from `seed`, in increasing order. */
export function killTimes(seed: string, n: number, maxMs: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.float() * maxMs)).sort((a, b) => a - b);
}

/** Every file under `dir` (relative paths; none when `dir` is not there). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}

/** The temporary files of keel's atomic writes under `dir` (either naming). */
export function tempFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => /\.tmp-\d+-\d+$/.test(f));
}

/**
 * Makes the killed writers' temporary files look old: the next write of the same output
 * removes those older than a minute (a younger one may belong to a process in another PID
 * namespace), and a test cannot wait that long.
 */
export function ageTempFiles(dir: string): void {
  const t = (Date.now() - 10 * 60_000) / 1000;
  for (const f of tempFiles(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile()) utimesSync(p, t, t);
  }
}
