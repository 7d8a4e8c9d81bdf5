/**
 * What a command leaves behind in its own process, measured. The CLI runs in-process in tests
 * and as a library in long-lived programs: a command, failed midway or not, must give back what
 * it took — store connections (an open pg pool keeps the process alive after the error is
 * printed), worker threads, models and ONNX Runtime sessions, file descriptors, timers, sockets,
 * temporary files, and the SIGINT/SIGTERM listeners it added (past ten, Node warns
 * MaxListenersExceededWarning in a program that runs many commands).
 *
 * A case takes a snapshot before and after and compares them, after a bounded settle (handles
 * closed asynchronously go within a few turns of the event loop). Workers, models and sessions
 * are counted only in a test file that mocks their modules with trackers.ts.
 */
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { type CliResult, runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";
import { models, sessions, workers } from "./trackers.js";

export const dir = tempDir("keel-lifecycle-");

export interface Snapshot {
  readonly resources: string[];
  readonly fds: string[];
  readonly listeners: Record<string, number>;
  readonly workers: number;
  readonly models: number;
  readonly sessions: number;
  readonly temps: string[];
}

/** File descriptors as their targets: files under our directory, sockets by kind. */
function openFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd readdir itself used, closed by now
    }
    if (target.startsWith(dir)) out.push(target);
    else if (target.startsWith("socket:")) out.push("socket");
  }
  return out.sort();
}

// Requests in flight at the moment of the snapshot come and go; handles are what stays.
const TRANSIENT = new Set(["FSReqCallback", "FSReqPromise", "CloseReq", "FileHandleCloseReq"]);

export function snapshot(): Snapshot {
  return {
    resources: process
      .getActiveResourcesInfo()
      .filter((r) => !TRANSIENT.has(r))
      .sort(),
    fds: openFds(),
    listeners: Object.fromEntries(
      (["SIGINT", "SIGTERM", "exit"] as const).map((s) => [s, process.listenerCount(s)]),
    ),
    workers: workers.size,
    models: models.size,
    sessions: sessions.size,
    temps: readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => /\.tmp-\d+-\d+$/.test(f))
      .sort(),
  };
}

/** What `now` holds that `base` did not (handles that ended meanwhile do not count). */
function extra(base: Snapshot, now: Snapshot): Record<string, unknown> {
  const more = (a: readonly string[], b: readonly string[]) => {
    const left = [...a];
    return b.filter((x) => {
      const i = left.indexOf(x);
      if (i < 0) return true;
      left.splice(i, 1);
      return false;
    });
  };
  const out: Record<string, unknown> = {};
  const resources = more(base.resources, now.resources);
  const fds = more(base.fds, now.fds);
  if (resources.length > 0) out.resources = resources;
  if (fds.length > 0) out.fds = fds;
  const temps = more(base.temps, now.temps);
  if (temps.length > 0) out["temporary files"] = temps;
  for (const [s, n] of Object.entries(now.listeners))
    if (n !== base.listeners[s]) out[`${s} listeners`] = n - base.listeners[s]!;
  if (now.workers !== base.workers) out.workers = now.workers - base.workers;
  if (now.models !== base.models) out["models not disposed"] = now.models - base.models;
  if (now.sessions !== base.sessions)
    out["ONNX sessions not released"] = now.sessions - base.sessions;
  return out;
}

/** What the process holds beyond `base`, once that is nothing or after a bounded wait. */
export async function leftSince(base: Snapshot): Promise<Record<string, unknown>> {
  let left = extra(base, snapshot());
  for (let i = 0; i < 100 && Object.keys(left).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 5));
    left = extra(base, snapshot());
  }
  return left;
}

/**
 * A snapshot once what the previous step was closing has closed (a socket ends a turn or two
 * after its pool's end() resolved): otherwise a new handle could hide in the place of an old one.
 */
export async function settledSnapshot(): Promise<Snapshot> {
  let last = snapshot();
  for (let same = 0, i = 0; same < 3 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 5));
    const now = snapshot();
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Runs the command and expects the process to hold no more than it held before. */
export async function leavesNothing(
  args: string[],
  expectCode: (code: number) => void,
): Promise<CliResult> {
  const base = await settledSnapshot();
  const r = await runCli(args);
  try {
    expectCode(r.code);
  } catch (e) {
    throw new Error(`${args.join(" ")}: exit ${r.code}\n${r.stderr}`, { cause: e });
  }
  expect(await leftSince(base), `${args.join(" ")}\n${r.stderr}`).toEqual({});
  return r;
}

/** Runs a server command until it waits for Ctrl-C, sends it, and expects nothing left. */
export async function servesUntilCtrlC(args: string[]): Promise<void> {
  const base = await settledSnapshot();
  const run = runCli(args);
  // Listening once it waits for the signal (bounded: a start that fails ends `run` anyway).
  for (let i = 0; i < 2000 && process.listenerCount("SIGINT") <= base.listeners.SIGINT!; i++)
    await new Promise((r) => setTimeout(r, 5));
  process.emit("SIGINT", "SIGINT");
  const r = await run;
  expect(r.code, r.stderr).toBe(0);
  expect(await leftSince(base), `${args.join(" ")}\n${r.stderr}`).toEqual({});
}
export const fails = (code: number) => expect(code).not.toBe(0);
export const succeeds = (code: number) => expect(code).toBe(0);

export function writeJsonl(path: string, rows: readonly unknown[], badAt?: number): string {
  const lines = rows.map((r) => JSON.stringify(r));
  if (badAt !== undefined) lines.splice(badAt, 0, "{ not json");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

export const good = join(dir, "good.jsonl");
export const bad = join(dir, "bad.jsonl");
export const big = join(dir, "big.jsonl");
export const aFile = join(dir, "a-file");

/** Judgment files (good, with a bad line, large) and a file where a directory is expected. */
export function writeFixtures(): void {
  const js = makeJudgments(40);
  writeJsonl(good, js);
  writeJsonl(bad, js, 60);
  writeJsonl(big, makeJudgments(1000), 1500);
  writeFileSync(aFile, "not a directory\n");
}
