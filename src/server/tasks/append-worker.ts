/** The ledger append worker (see append.ts): its own connection to the SQLite store. */
import { parentPort, workerData } from "node:worker_threads";
import { KeelError, keelErrorData } from "../../core/errors.js";
import { openStore } from "../../store/store.js";
import { StoreAppend, type WorkerReply, type WorkerRequest } from "./append.js";

const { path } = workerData as { path: string };
const store = await openStore(path);
const appender = new StoreAppend(store);
const port = parentPort!;

port.on("message", async (m: WorkerRequest | "close") => {
  if (m === "close") {
    await store.close();
    port.close();
    return;
  }
  let reply: WorkerReply;
  try {
    reply = { id: m.id, ok: true, result: await appender.append(m.judgments, m.stakes) };
  } catch (e) {
    // A KeelError (the store busy or read-only) crosses the thread whole, so the server answers
    // it with its own status (503), not as an internal error.
    const err = e as Error & { code?: string };
    reply = {
      id: m.id,
      ok: false,
      error:
        e instanceof KeelError
          ? { message: err.message, keel: keelErrorData(e) }
          : { message: err.message, ...(err.code ? { code: err.code } : {}) },
    };
  }
  port.postMessage(reply);
});
port.postMessage({ id: -1, ok: true, ready: true } satisfies WorkerReply);
