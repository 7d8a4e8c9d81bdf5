/**
 * ONNX protobuf encoding and decoding for the subset of `onnx.proto` keel writes and reads.
 *
 * Why a schema table and not hand-written wire code: one table serves both directions. keel
 * encodes the graphs it builds, and it must also *decode* ONNX files written by other tools
 * (PyTorch, Optimum, …) so that the autodiff can fine-tune them; protobufjs reflection over
 * this table gives both, skips the fields we do not model (doc strings, metadata, training
 * info) on the way in, and keeps the field numbers in one place to check against upstream.
 * Field numbers are copied from onnx/onnx.proto (IR version 9 / opset 20, proto2 syntax).
 * Only reflection is used, no code generation, so there is no build step.
 *
 * Mapping: TensorProto payloads are written as `raw_data` (little-endian, the layout ORT
 * reads without conversion); on decode, `float_data`/`int64_data`/`double_data`/`int32_data`
 * are accepted too. External data (tensors stored in side files) is not supported.
 */
import protobuf from "protobufjs";
import { KeelError } from "../../core/errors.js";
import type { Attr, DType, Graph, Node, TensorData, ValueInfo } from "../graph.js";
import { makeTensorData } from "../graph.js";

const S = (id: number, type: string, rule?: "repeated") => ({
  id,
  type,
  ...(rule ? { rule } : {}),
});

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: S(1, "int64"),
            producerName: S(2, "string"),
            producerVersion: S(3, "string"),
            domain: S(4, "string"),
            modelVersion: S(5, "int64"),
            docString: S(6, "string"),
            graph: S(7, "GraphProto"),
            opsetImport: S(8, "OperatorSetIdProto", "repeated"),
          },
        },
        OperatorSetIdProto: { fields: { domain: S(1, "string"), version: S(2, "int64") } },
        GraphProto: {
          fields: {
            node: S(1, "NodeProto", "repeated"),
            name: S(2, "string"),
            initializer: S(5, "TensorProto", "repeated"),
            input: S(11, "ValueInfoProto", "repeated"),
            output: S(12, "ValueInfoProto", "repeated"),
            valueInfo: S(13, "ValueInfoProto", "repeated"),
          },
        },
        NodeProto: {
          fields: {
            input: S(1, "string", "repeated"),
            output: S(2, "string", "repeated"),
            name: S(3, "string"),
            opType: S(4, "string"),
            attribute: S(5, "AttributeProto", "repeated"),
            domain: S(7, "string"),
          },
        },
        AttributeProto: {
          fields: {
            name: S(1, "string"),
            f: S(2, "float"),
            i: S(3, "int64"),
            s: S(4, "bytes"),
            t: S(5, "TensorProto"),
            floats: S(7, "float", "repeated"),
            ints: S(8, "int64", "repeated"),
            type: S(20, "int32"),
          },
        },
        TensorProto: {
          fields: {
            dims: S(1, "int64", "repeated"),
            dataType: S(2, "int32"),
            floatData: S(4, "float", "repeated"),
            int32Data: S(5, "int32", "repeated"),
            int64Data: S(7, "int64", "repeated"),
            name: S(8, "string"),
            rawData: S(9, "bytes"),
            doubleData: S(10, "double", "repeated"),
            externalData: S(13, "StringStringEntryProto", "repeated"),
            dataLocation: S(14, "int32"),
          },
        },
        StringStringEntryProto: { fields: { key: S(1, "string"), value: S(2, "string") } },
        ValueInfoProto: { fields: { name: S(1, "string"), type: S(2, "TypeProto") } },
        TypeProto: {
          fields: { tensorType: S(1, "TypeProtoTensor") },
        },
        TypeProtoTensor: { fields: { elemType: S(1, "int32"), shape: S(2, "TensorShapeProto") } },
        TensorShapeProto: { fields: { dim: S(1, "Dimension", "repeated") } },
        Dimension: { fields: { dimValue: S(1, "int64"), dimParam: S(2, "string") } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const ModelProto = root.lookupType("onnx.ModelProto");

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};
const CODE_DTYPE = new Map<number, DType>(
  Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]),
);

const ELEMENT_BYTES: Record<DType, number> = {
  float32: 4,
  int32: 4,
  int64: 8,
  bool: 1,
  float64: 8,
};

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export const IR_VERSION = 9;
export const OPSET = 20;

/** Opset imports keel declares: the default domain, plus com.microsoft for fused kernels. */
export interface EncodeOptions {
  readonly producer?: string;
  readonly extraOpsets?: readonly { domain: string; version: number }[];
}

function tensorToProto(name: string, t: TensorData): Record<string, unknown> {
  if (t.external) {
    const e = t.external;
    return {
      name,
      dims: [...t.dims],
      dataType: DTYPE_CODE[t.dtype],
      dataLocation: 1,
      externalData: [
        { key: "location", value: e.location },
        { key: "offset", value: String(e.offset) },
        { key: "length", value: String(e.length) },
      ],
    };
  }
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.dims], dataType: DTYPE_CODE[t.dtype], rawData: bytes };
}

function attrToProto(name: string, a: Attr): Record<string, unknown> {
  switch (a.kind) {
    case "float":
      return { name, type: ATTR_TYPE.float, f: a.value };
    case "int":
      return { name, type: ATTR_TYPE.int, i: a.value };
    case "string":
      return { name, type: ATTR_TYPE.string, s: new TextEncoder().encode(a.value) };
    case "floats":
      return { name, type: ATTR_TYPE.floats, floats: [...a.value] };
    case "ints":
      return { name, type: ATTR_TYPE.ints, ints: [...a.value] };
    case "tensor":
      return { name, type: ATTR_TYPE.tensor, t: tensorToProto("", a.value) };
  }
}

function valueInfoToProto(v: ValueInfo): Record<string, unknown> {
  const tensorType: Record<string, unknown> = { elemType: DTYPE_CODE[v.dtype] };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name: v.name, type: { tensorType } };
}

/** Serialises a graph to ONNX ModelProto bytes. */
export function encodeModel(graph: Graph, opts: EncodeOptions = {}): Uint8Array {
  const extra = [...(opts.extraOpsets ?? [])];
  for (const domain of new Set(graph.nodes.map((n) => n.domain))) {
    if (domain !== "" && domain !== "ai.onnx" && !extra.some((o) => o.domain === domain))
      extra.push({ domain, version: 1 });
  }
  const nodes = graph.nodes.map((n) => ({
    input: [...n.inputs],
    output: [...n.outputs],
    opType: n.op,
    domain: n.domain,
    ...(n.name ? { name: n.name } : {}),
    attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
  }));
  const msg = {
    irVersion: IR_VERSION,
    producerName: opts.producer ?? "keel",
    opsetImport: [{ domain: "", version: OPSET }, ...extra],
    graph: {
      name: graph.name,
      node: nodes,
      initializer: [...graph.initializers].map(([k, t]) => tensorToProto(k, t)),
      input: graph.inputs.map((name) => valueInfoToProto(graph.info(name))),
      output: graph.outputs.map((name) => valueInfoToProto(graph.info(name))),
    },
  };
  return ModelProto.encode(ModelProto.fromObject(msg)).finish();
}

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
