/**
 * The parse worker's flow control: it runs at most `maxInFlight` batches ahead of the reader of
 * its batches, so an import's memory stays bounded however large the file, and the reader's
 * "credit" for each batch it takes lets the next one through. The worker is started as usual;
 * a listener added to it counts the batches as they reach this thread, before the reader takes
 * them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { describe, expect, it, vi } from "vitest";
import { parseJudgmentsInWorker } from "../../src/io/parallel.js";
import { makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const arrived = vi.hoisted(() => ({ batches: 0, done: false }));

vi.mock("../../src/core/worker.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/core/worker.js")>();
  return {
    startModuleWorker: (...args: Parameters<typeof real.startModuleWorker>): Worker => {
      const worker = real.startModuleWorker(...args);
      worker.on("message", (m: { type: string }) => {
        if (m.type === "batch") arrived.batches++;
        else arrived.done = true;
      });
      return worker;
    },
  };
});

const dir = tempDir("keel-parallel-bound-");

/** Resolves once `ready()` holds, checking between turns of the event loop. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
}

describe("parsing in a worker thread, a file of many batches", () => {
  // About 1 KB a line: some 120 lines a read chunk, a dozen batches in all.
  const rows = makeJudgments(400, 3).map((j) => ({
    ...j,
    prompt: `${j.prompt} ${"pad ".repeat(250)}`,
  }));
  const file = join(dir, "many.jsonl");
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

  it("keeps at most maxInFlight batches ahead of its reader, and gets every line through", async () => {
    const maxInFlight = 2;
    let taken = 0;
    let lines = 0;
    let mostAhead = 0;
    for await (const b of parseJudgmentsInWorker("judgments", file, {}, maxInFlight)) {
      taken++;
      lines += b.n;
      // Let the worker run as far ahead as it may, then a little longer: one that ignored its
      // credits would by then have sent batches past the bound.
      await until(() => arrived.done || arrived.batches >= taken + maxInFlight);
      await new Promise((r) => setTimeout(r, 20));
      expect(arrived.batches).toBeLessThanOrEqual(taken + maxInFlight);
      mostAhead = Math.max(mostAhead, arrived.batches - taken);
    }
    expect(taken).toBeGreaterThan(3 * maxInFlight);
    expect(arrived.batches).toBe(taken);
    expect(lines).toBe(rows.length);
    // The bound is reached, not undershot: the worker does parse ahead while the reader works.
    expect(mostAhead).toBe(maxInFlight);
  }, 30_000); // a worker left without credit stops, and the reader then waits for ever
});
