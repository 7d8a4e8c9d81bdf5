/**
 * Worker-thread entry: parses one file in a judgment format and posts packed batches to the
 * parent. At most `maxInFlight` batches are unacknowledged at a time, which bounds memory; the
 * parent sends "credit" as it consumes each one.
 */
import { parentPort, workerData } from "node:worker_threads";
import { KeelError, keelErrorData } from "../core/errors.js";
import { DigestCache, packBatch, SentTexts } from "./packed.js";
import { type ImportOptions, importFormat } from "./registry.js";

export interface ParseWorkerData {
  readonly format: string;
  readonly path: string;
  readonly options: ImportOptions;
  readonly maxInFlight: number;
}

export type ParseWorkerMessage =
  | { type: "batch"; batch: import("./packed.js").PackedBatch }
  | { type: "done" }
  | { type: "error"; error: import("../core/errors.js").KeelErrorData };

async function run(port: NonNullable<typeof parentPort>, data: ParseWorkerData): Promise<void> {
  let credits = data.maxInFlight;
  let wake: (() => void) | undefined;
  port.on("message", (m: unknown) => {
    if (m === "credit") {
      credits++;
      wake?.();
      wake = undefined;
    }
  });
  const post = (m: ParseWorkerMessage) => port.postMessage(m);
  try {
    const format = importFormat(data.format);
    if (format.kind !== "judgments") {
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        `format ${data.format} does not carry judgments with texts`,
      );
    }
    const sent = new SentTexts();
    const cache = new DigestCache();
    for await (const batch of format.parse(data.path, data.options)) {
      while (credits <= 0) await new Promise<void>((r) => (wake = r));
      credits--;
      post({ type: "batch", batch: packBatch(batch, sent, cache) });
    }
    post({ type: "done" });
  } catch (e) {
    const error =
      e instanceof KeelError
        ? keelErrorData(e)
        : {
            code: "KEEL_E_INTERNAL" as const,
            message: e instanceof Error ? (e.stack ?? e.message) : String(e),
          };
    post({ type: "error", error });
  } finally {
    port.close();
  }
}

if (parentPort) void run(parentPort, workerData as ParseWorkerData);
