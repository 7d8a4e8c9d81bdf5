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

export function defaultThreads(): number {
  const env = Number(process.env.KEEL_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
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
