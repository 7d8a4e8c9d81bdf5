/**
 * Decoding ONNX ModelProto bytes written by any tool into the parts of a keel Graph. Besides
 * `raw_data`, tensor payloads in `float_data`/`int64_data`/`double_data`/`int32_data` are
 * accepted; external data (tensors stored in side files) is refused. Every size is checked
 * against what the file holds before anything is allocated.
 */
import { KeelError } from "../../core/errors.js";
import type { Attr, DType, Node, TensorData, ValueInfo } from "../graph.js";
import { makeTensorData } from "../graph.js";
import { ATTR_TYPE, CODE_DTYPE, ELEMENT_BYTES, ModelProto, ModelTypes } from "./proto-schema.js";

interface DecodedTensor {
  dims?: number[];
  dataType?: number;
  name?: string;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  dataLocation?: number;
}

function tensorFromProto(p: DecodedTensor, where: string): TensorData {
  const dtype = CODE_DTYPE.get(p.dataType ?? 0);
  if (!dtype) {
    throw new KeelError("KEEL_E_UNSUPPORTED", `tensor data type ${p.dataType} is not supported`, {
      where: { id: where },
      hint: "keel reads float32, float64, int32, int64 and bool tensors",
    });
  }
  if (p.dataLocation === 1) {
    throw new KeelError("KEEL_E_UNSUPPORTED", "tensors stored as external data are not supported", {
      where: { id: where },
      hint: "re-save the model with all tensors inside the .onnx file",
    });
  }
  const dims = (p.dims ?? []).map(Number);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new KeelError("KEEL_E_SHAPE", `tensor has dims [${dims.join(", ")}]`, {
      where: { id: where },
      hint: "dims must be non-negative integers; the file is corrupt",
    });
  const n = dims.reduce((a, b) => a * b, 1);
  // The payload the file actually holds is checked against the dims before the tensor is
  // allocated, so a corrupt or hostile file cannot ask for gigabytes it does not contain.
  const raw = p.rawData && p.rawData.byteLength > 0 ? p.rawData : undefined;
  const src = raw ? undefined : (p.floatData ?? p.doubleData ?? p.int32Data ?? p.int64Data ?? []);
  const have = raw ? raw.byteLength : src!.length;
  const need = raw ? n * ELEMENT_BYTES[dtype] : n;
  if (have !== need)
    throw new KeelError(
      "KEEL_E_SHAPE",
      `tensor of dims [${dims.join(", ")}] (${n} elements) holds ${have} ${raw ? "bytes of raw_data" : "values"}; it needs ${need}`,
      { where: { id: where } },
    );
  const t = makeTensorData(dtype, dims);
  if (raw) {
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).set(raw);
  } else {
    for (let i = 0; i < n; i++) {
      const v = src![i] ?? 0;
      if (t.data instanceof BigInt64Array) t.data[i] = BigInt(v);
      else (t.data as Float32Array)[i] = Number(v);
    }
  }
  return t;
}

function attrFromProto(a: DecodedAttr, where: string): Attr {
  switch (a.type) {
    case ATTR_TYPE.float:
      return { kind: "float", value: Number(a.f ?? 0) };
    case ATTR_TYPE.int:
      return { kind: "int", value: Number(a.i ?? 0) };
    case ATTR_TYPE.string:
      return { kind: "string", value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case ATTR_TYPE.floats:
      return { kind: "floats", value: (a.floats ?? []).map(Number) };
    case ATTR_TYPE.ints:
      return { kind: "ints", value: (a.ints ?? []).map(Number) };
    case ATTR_TYPE.tensor:
      return { kind: "tensor", value: tensorFromProto(a.t ?? {}, where) };
    default:
      throw new KeelError("KEEL_E_UNSUPPORTED", `attribute type ${a.type} is not supported`, {
        where: { id: where, field: String(a.name) },
      });
  }
}

/** The parts of a decoded model that `importOnnx` turns into a keel Graph. */
export interface DecodedModel {
  readonly name: string;
  readonly opset: number;
  readonly nodes: Node[];
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly initializers: Map<string, TensorData>;
}

interface DecodedValueInfo {
  name?: string;
  type?: {
    tensorType?: {
      elemType?: number;
      shape?: { dim?: { dimValue?: number | null; dimParam?: string }[] };
    };
  };
}

interface DecodedAttr {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: DecodedTensor;
  floats?: number[];
  ints?: number[];
}

interface DecodedNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: DecodedAttr[];
}

interface DecodedGraph {
  name?: string;
  node?: DecodedNode[];
  initializer?: DecodedTensor[];
  input?: DecodedValueInfo[];
  output?: DecodedValueInfo[];
}

function valueInfoFromProto(v: DecodedValueInfo): ValueInfo {
  const name = String(v.name ?? "");
  const tt = v.type?.tensorType;
  const dtype = CODE_DTYPE.get(tt?.elemType ?? 0);
  if (!dtype) {
    throw new KeelError("KEEL_E_UNSUPPORTED", "value has an unsupported element type", {
      where: { id: name },
      hint: "keel reads float32, float64, int32, int64 and bool tensors",
    });
  }
  const shape = tt?.shape
    ? (tt.shape.dim ?? []).map((d, i) =>
        d.dimValue !== undefined && d.dimValue !== null
          ? Number(d.dimValue)
          : String(d.dimParam || `${name}_d${i}`),
      )
    : undefined;
  return { name, dtype, shape };
}

/** Parses ONNX ModelProto bytes. */
export function decodeModel(bytes: Uint8Array, file?: string): DecodedModel {
  let m: { graph?: DecodedGraph; opsetImport?: { domain?: string; version?: number }[] };
  try {
    m = ModelProto.toObject(ModelProto.decode(bytes), {
      longs: Number,
      defaults: false,
      arrays: true,
    });
  } catch (e) {
    throw new KeelError(
      "KEEL_E_UNKNOWN_FORMAT",
      `not a readable ONNX model: ${e instanceof Error ? e.message : String(e)}`,
      { ...(file ? { where: { file } } : {}), hint: "the file is truncated or not ONNX", cause: e },
    );
  }
  const g: DecodedGraph = m.graph ?? {};
  const opset = (m.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) {
    initializers.set(String(t.name), tensorFromProto(t, String(t.name)));
  }
  const nodes: Node[] = (g.node ?? []).map((n, i) => ({
    op: String(n.opType),
    domain: n.domain ?? "",
    name: n.name || `n${i}`,
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: Object.fromEntries(
      (n.attribute ?? []).map((a) => [a.name, attrFromProto(a, n.name || `node ${i}`)]),
    ),
  }));
  return {
    name: g.name ?? "imported",
    opset: Number(opset?.version ?? 0),
    nodes,
    inputs: (g.input ?? [])
      .filter((v) => !initializers.has(String(v.name)))
      .map(valueInfoFromProto),
    outputs: (g.output ?? []).map(valueInfoFromProto),
    initializers,
  };
}

/**
 * The element types of a model's inputs, outputs and initializers, read without decoding its
 * nodes or tensor payloads (0.1–0.7 ms on a GPT training graph, against 10–30 ms to create its
 * session). Types keel does not read are left out. Throws protobufjs's error on bytes that are
 * not a ModelProto.
 */
export function modelDtypes(bytes: Uint8Array): Set<DType> {
  const m = ModelTypes.decode(bytes) as {
    graph?: {
      initializer?: { dataType?: number }[];
      input?: DecodedValueInfo[];
      output?: DecodedValueInfo[];
    };
  };
  const g = m.graph ?? {};
  const codes = [
    ...(g.initializer ?? []).map((t) => t.dataType),
    ...[...(g.input ?? []), ...(g.output ?? [])].map((v) => v.type?.tensorType?.elemType),
  ];
  const out = new Set<DType>();
  for (const c of codes) {
    const dtype = CODE_DTYPE.get(c ?? 0);
    if (dtype) out.add(dtype);
  }
  return out;
}
