import { afterEach, describe, expect, it, vi } from "vitest";
import { withInterrupt } from "../../src/cli/interrupt.js";

/** Runs withInterrupt around a step that waits, and sends it `signals` while it waits. */
async function interrupt(signals: NodeJS.Signals[]) {
  const stderr: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
  const before = { int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") };
  let finish!: () => void;
  let seen!: AbortSignal;
  const run = withInterrupt((signal) => {
    seen = signal;
    return new Promise<string>((resolve) => {
      finish = () => resolve("done");
    });
  });
  const abortedAfter: boolean[] = [];
  for (const s of signals) {
    process.emit(s, s);
    abortedAfter.push(seen.aborted);
  }
  finish();
  const result = await run;
  const after = { int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") };
  return { result, exit, stderr: stderr.join(""), abortedAfter, before, after };
}

describe("withInterrupt", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("the first Ctrl-C aborts the step and lets it finish", async () => {
    const r = await interrupt(["SIGINT"]);
    expect(r.abortedAfter).toEqual([true]);
    expect(r.exit).not.toHaveBeenCalled();
    expect(r.result).toBe("done");
    expect(r.stderr).toContain("Ctrl-C again to stop at once");
    expect(r.after).toEqual(r.before);
  });

  it("a second Ctrl-C stops at once with exit code 130", async () => {
    const r = await interrupt(["SIGINT", "SIGINT"]);
    expect(r.exit).toHaveBeenCalledTimes(1);
    expect(r.exit).toHaveBeenCalledWith(130);
    expect(r.after).toEqual(r.before);
  });

  it("a SIGTERM after the first signal stops at once with exit code 143", async () => {
    const r = await interrupt(["SIGINT", "SIGTERM"]);
    expect(r.exit).toHaveBeenCalledWith(143);
  });
});
