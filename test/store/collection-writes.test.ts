/**
 * The collection's multi-statement writes against a second connection that commits all the
 * while — as the server's ledger appender does beside the request handlers. A deferred SQLite
 * transaction that reads and then writes failed at once with SQLITE_BUSY(_SNAPSHOT) whenever
 * the other connection committed in between (half of 20 item uploads under rater load); begun
 * IMMEDIATE, each waits its turn.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { addItems, collectionDb, createProject } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";

/** A thread that commits one small row after another into `path` until `stop[0]` is set. */
function busyWriter(path: string, stop: Int32Array): Worker {
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    const Database = require(workerData.module);
    const db = new Database(workerData.path);
    db.pragma("busy_timeout = 10000");
    db.pragma("synchronous = FULL"); // as keel's own connections: each commit syncs
    const ins = db.prepare("INSERT INTO scratch (v) VALUES (?)");
    const many = db.transaction((n) => { for (let i = 0; i < 200; i++) ins.run(n + i); });
    parentPort.postMessage("ready");
    let n = 0;
    // Like the ledger appender's group commits: a commit, then a short pause (a loop with no
    // pause at all could starve the other connection past busy_timeout on a loaded machine).
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (Atomics.load(workerData.stop, 0) === 0) {
      many((n += 200));
      Atomics.wait(pause, 0, 0, 2);
    }
    db.close();
    parentPort.postMessage(n);`;
  return new Worker(code, {
    eval: true,
    workerData: { path, stop, module: createRequire(import.meta.url).resolve("better-sqlite3") },
  });
}

describe("collection writes beside another writer (SQLite)", () => {
  it("adds every batch of items while another connection keeps committing", async () => {
    const path = `${tempDir()}/busy.db`;
    const store = await openStore(path, { create: true });
    const db = collectionDb(store);
    await createProject(db, { project_id: "p", name: "p" }, new Date());
    const raw = new Database(path);
    raw.exec("CREATE TABLE scratch (v INTEGER)");
    raw.close();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = busyWriter(path, stop);
    const done = new Promise<number>((resolve, reject) => {
      worker.on("message", (m) => {
        if (typeof m === "number") resolve(m);
      });
      worker.on("error", reject);
    });
    await new Promise((r) => worker.once("message", r));
    const failures: string[] = [];
    try {
      for (let b = 0; b < 20; b++) {
        const items = Array.from({ length: 50 }, (_, k) => ({
          comparison: {
            comparison_id: `c${b}-${k}`,
            prompt: `prompt ${b} ${k}`,
            response_a: `a ${k}`,
            response_b: `b ${k}`,
          },
          kind: "task" as const,
          batch: "b",
        }));
        // Let the other connection commit between the batches' reads and writes.
        await new Promise((r) => setTimeout(r, 5));
        await addItems(db, "p", items).catch((e: Error) => failures.push(e.message));
      }
    } finally {
      Atomics.store(stop, 0, 1);
    }
    const otherRows = await done;
    await store.close();
    expect(otherRows).toBeGreaterThan(200);
    expect(failures).toEqual([]);
  }, 60_000);
});
