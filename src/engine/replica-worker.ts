/**
 * Worker-thread entry of a data-parallel replica (see `replicas.ts`): one ONNX Runtime session
 * per graph, run on the rows of a batch the parent hands it. Parameters arrive
 * through shared memory and are copied into the worker's own arrays before every run
 * (onnxruntime-node reads only unshared memory); gradients are written into the worker's own
 * array and copied out into its shared gradient slot.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { isKeelError, KeelError, keelErrorData } from "../core/errors.js";
import type { ReplicaReply, ReplicaRequest, ReplicaWorkerData, WireTensor } from "./replicas.js";

const data = workerData as ReplicaWorkerData;
const port = parentPort!;
const P = data.specs.reduce((a, s) => a + s.length, 0);
const sharedParams = new Float32Array(data.params);
const sharedGrad = new Float32Array(data.grad);
const params = new Float32Array(P);
const grad = new Float32Array(P);
const paramFeeds: Record<string, ort.Tensor> = {};
for (const s of data.specs)
  paramFeeds[s.name] = new ort.Tensor("float32", params.subarray(s.offset, s.offset + s.length), [
    ...s.shape,
  ]);

interface Loaded {
  readonly session: ort.InferenceSession;
  /** Gradient outputs bound to slices of `grad`. */
  readonly gradOutputs: Record<string, ort.Tensor>;
  /** [offset, length] of the parameters the graph does not differentiate (zero gradient). */
  readonly unbound: [number, number][];
}
const sessions = new Map<string, Promise<Loaded>>();

async function load(bytes: Uint8Array, threads: number): Promise<Loaded> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const gradOutputs: Record<string, ort.Tensor> = {};
  const unbound: [number, number][] = [];
  for (const s of data.specs) {
    const name = `${data.gradPrefix}${s.name}`;
    if (session.outputNames.includes(name))
      gradOutputs[name] = new ort.Tensor("float32", grad.subarray(s.offset, s.offset + s.length), [
        ...s.shape,
      ]);
    else unbound.push([s.offset, s.length]);
  }
  return { session, gradOutputs, unbound };
}

function toOrt(t: WireTensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as never, [...t.dims]);
}

async function run(
  m: Extract<ReplicaRequest, { type: "run" }>,
): Promise<{ reply: ReplicaReply; transfer: ArrayBuffer[] }> {
  const loaded = sessions.get(m.key);
  if (!loaded) throw new Error(`replica has no graph ${m.key}`);
  const { session, gradOutputs, unbound } = await loaded;
  params.set(sharedParams);
  const feeds: Record<string, ort.Tensor> = { ...paramFeeds };
  for (const [k, t] of Object.entries(m.feeds)) feeds[k] = toOrt(t);
  const fetches: Record<string, ort.Tensor | null> = {};
  for (const k of m.fetch) fetches[k] = null;
  if (m.grad) Object.assign(fetches, gradOutputs);
  const out = await session.run(feeds, fetches);
  if (m.grad) {
    for (const [o, n] of unbound) grad.fill(0, o, o + n);
    sharedGrad.set(grad);
  }
  const outputs: Record<string, WireTensor> = {};
  const transfer: ArrayBuffer[] = [];
  for (const k of m.fetch) {
    const t = out[k]!;
    const d = t.data as Float32Array | Float64Array | Int32Array;
    outputs[k] = { dtype: t.type as WireTensor["dtype"], data: d, dims: [...t.dims] };
    transfer.push(d.buffer as ArrayBuffer);
  }
  return { reply: { type: "done", id: m.id, outputs }, transfer };
}

port.on("message", (m: ReplicaRequest) => {
  if (m.type === "graph") {
    const p = load(m.bytes, m.threads);
    sessions.set(m.key, p);
    p.catch(() => {}); // reported by the run that needs it
    return;
  }
  if (m.type === "drop") {
    const p = sessions.get(m.key);
    sessions.delete(m.key);
    void p?.then((l) => l.session.release()).catch(() => {});
    return;
  }
  run(m).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (e: unknown) => {
      const err = isKeelError(e)
        ? e
        : new KeelError(
            "KEEL_E_INTERNAL",
            `ONNX Runtime failed in a replica: ${(e as Error).message}`,
          );
      port.postMessage({ type: "error", id: m.id, error: keelErrorData(err) });
    },
  );
});
