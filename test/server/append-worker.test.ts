/**
 * The server's ledger append worker (SQLite file stores): one that dies is replaced on the next
 * append, so a crashed thread does not leave the server refusing every later judgment.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import type { Judgment } from "../../src/core/types.js";
import { WorkerAppend } from "../../src/server/tasks/append.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";

const judgment = (i: number): Judgment => ({
  comparison_id: `c${i}`,
  prompt: `prompt ${i}`,
  response_a: `a ${i}`,
  response_b: `b ${i}`,
  rater_id: "r1",
  choice: "a",
});

const open: WorkerAppend[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function started(path: string, restartIntervalMs: number, died: Error[] = []) {
  const w = await WorkerAppend.start(path, { restartIntervalMs, onRestart: (e) => died.push(e) });
  open.push(w);
  return w;
}

describe("WorkerAppend", () => {
  it("starts a new worker on the next append after its worker died", async () => {
    const path = join(tempDir(), "s.db");
    await (await openStore(path, { create: true })).close();
    const died: Error[] = [];
    const w = await started(path, 0, died);
    expect((await w.append([judgment(1)])).rows.map((r) => r.seq)).toEqual([1]);
    await w.kill();
    const r = await w.append([judgment(2), judgment(3)]);
    expect(r.rows.map((x) => x.seq)).toEqual([2, 3]);
    expect(w.restarts).toBe(1);
    expect(died.map((e) => e.message)).toEqual(["the ledger append worker exited (code 1)"]);
    const store = await openStore(path);
    try {
      expect(await store.countJudgments()).toBe(3);
      expect((await store.verifyLedger()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("passes a KeelError from the worker's store as a KeelError (the server answers it with its own status)", async () => {
    const path = join(tempDir(), "s.db");
    await (await openStore(path, { create: true })).close();
    const w = await started(path, 60_000);
    await w.append([judgment(1)]);
    // The same comparison id with other texts: the store refuses it (KEEL_E_CONFLICT).
    const e = await w.append([{ ...judgment(1), rater_id: "r2", response_a: "other" }]).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(KeelError);
    expect((e as KeelError).code).toBe("KEEL_E_CONFLICT");
  });

  it("answers with the worker's death while a restart would come too soon after the last start", async () => {
    const path = join(tempDir(), "s.db");
    await (await openStore(path, { create: true })).close();
    const w = await started(path, 60_000);
    await w.kill();
    await expect(w.append([judgment(1)])).rejects.toThrow(/ledger append worker exited/);
    expect(w.restarts).toBe(0);
  });

  it("closes when its worker has already died, and appends nothing after", async () => {
    const path = join(tempDir(), "s.db");
    await (await openStore(path, { create: true })).close();
    const w = await WorkerAppend.start(path, { restartIntervalMs: 60_000 });
    await w.kill();
    await w.close();
    await expect(w.append([judgment(1)])).rejects.toThrow(/closed/);
  });
});
