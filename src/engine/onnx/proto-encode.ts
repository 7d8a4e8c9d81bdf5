/**
 * Encoding a keel Graph as ONNX ModelProto bytes. Tensor payloads are written as `raw_data`
 * (little-endian, the layout ORT reads without conversion), or as a reference to the side file
 * of a tensor that names one (`TensorData.external`).
 */
import type { Attr, Graph, TensorData, ValueInfo } from "../graph.js";
import { ATTR_TYPE, DTYPE_CODE, IR_VERSION, ModelProto, OPSET } from "./proto-schema.js";

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
