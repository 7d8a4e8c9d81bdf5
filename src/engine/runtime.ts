/**
 * ONNX Runtime execution: one `Session` per graph, created once and reused. Inputs wrap
 * keel's typed arrays without copying (onnxruntime-node reads the JS memory in place);
 * outputs are fresh typed arrays per run. Threads: `KEEL_THREADS` or all cores, one
 * inter-op thread, sequential execution, full graph optimisation (ORT folds constants and fuses
 * what it can; keel emits FusedMatMul itself where a product reads an operand transposed) —
 * except for models that compute in float64 (`optimisationLevel`).
 */
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { KeelError } from "../core/errors.js";
import type { DType, Graph, TypedData } from "./graph.js";
import { encodeModel, modelDtypes } from "./onnx/proto.js";

export type OrtTensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads (default: KEEL_THREADS or every core). */
  readonly threads?: number;
  /** In-memory buffers for initializers stored as external data, by location name. */
  readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array }[];
}

/** The most intra-op threads `KEEL_THREADS` may ask for. */
export const MAX_THREADS = 1024;

/**
 * `KEEL_THREADS` (a whole number from 1 to MAX_THREADS) or every core when it is unset or empty.
 * Anything else is refused naming the variable: before, `lots` or `2abc` was ignored without a
 * word (every core used), `0x2` read as 2, and 1e9 went to ONNX Runtime as 1e9 threads.
 */
export function defaultThreads(): number {
  const raw = process.env.KEEL_THREADS;
  if (raw === undefined || raw === "") return availableParallelism();
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_THREADS))
    throw new KeelError(
      "KEEL_E_CONFIG",
      `KEEL_THREADS must be a whole number from 1 to ${MAX_THREADS}, got ${JSON.stringify(raw)}`,
      { hint: "unset it to use every core" },
    );
  return n;
}

export function tensor(dtype: DType, data: TypedData, dims: readonly number[]): ort.Tensor {
  const type = dtype === "bool" ? "bool" : dtype;
  return new ort.Tensor(type, data as never, dims);
}

/**
 * The graph optimisation level for a model, from its own element types: "basic" (constant
 * folding, redundant nodes removed) when any input, output or initializer is float64, else
 * "all". Float64 graphs exist to be exact (gradient checks, reference comparisons), and the
 * extended fusions are not: they write float32 attributes, so MatMul·(1/√D) fused into a
 * FusedMatMul carries its scale as a float32 alpha (1/√8 off by 1.7e-8 relative). Float32
 * graphs keep every fusion. Bytes that are not a model get "all"; ONNX Runtime reports them.
 */
export function optimisationLevel(bytes: Uint8Array): "basic" | "all" {
  try {
    return modelDtypes(bytes).has("float64") ? "basic" : "all";
  } catch {
    return "all";
  }
}

export class Session {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async fromBytes(bytes: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    try {
      const s = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: opts.threads ?? defaultThreads(),
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: optimisationLevel(bytes),
        logSeverityLevel: 3,
        ...(opts.externalData ? { externalData: [...opts.externalData] } : {}),
      });
      return new Session(s, s.inputNames, s.outputNames);
    } catch (e) {
      throw new KeelError(
        "KEEL_E_INTERNAL",
        `ONNX Runtime rejected a graph: ${(e as Error).message}`,
        {
          cause: e,
          hint: "this is a bug in the graph builder or an unsupported op/dtype combination",
        },
      );
    }
  }

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<Session> {
    return Session.fromBytes(encodeModel(graph), opts);
  }

  /** Runs the graph; `fetches` limits the outputs computed (default: all). */
  async run(
    feeds: Record<string, ort.Tensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, ort.Tensor>> {
    return (await this.session.run(
      feeds,
      fetches ? [...fetches] : [...this.outputNames],
    )) as Record<string, ort.Tensor>;
  }

  /** Runs the graph, filling the preallocated tensors given per output (null: allocate). */
  async runInto(
    feeds: Record<string, ort.Tensor>,
    outputs: Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.Tensor>> {
    return (await this.session.run(feeds, outputs)) as Record<string, ort.Tensor>;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
