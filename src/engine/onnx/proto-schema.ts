/**
 * The subset of `onnx.proto` keel writes and reads, as a protobufjs reflection table (why a
 * table and not wire code: see proto.ts), and the ONNX codes keel maps its types to. Field
 * numbers are copied from onnx/onnx.proto (IR version 9 / opset 20, proto2 syntax).
 */
import protobuf from "protobufjs";
import type { DType } from "../graph.js";

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
        // A model's element types only: decoding skips its nodes and tensor payloads
        ModelTypes: { fields: { graph: S(7, "GraphTypes") } },
        GraphTypes: {
          fields: {
            initializer: S(5, "TensorType", "repeated"),
            input: S(11, "ValueInfoType", "repeated"),
            output: S(12, "ValueInfoType", "repeated"),
          },
        },
        TensorType: { fields: { dataType: S(2, "int32") } },
        ValueInfoType: { fields: { type: S(2, "TypeProtoType") } },
        TypeProtoType: { fields: { tensorType: S(1, "TensorElemType") } },
        TensorElemType: { fields: { elemType: S(1, "int32") } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
export const ModelProto = root.lookupType("onnx.ModelProto");
export const ModelTypes = root.lookupType("onnx.ModelTypes");

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};
export const CODE_DTYPE = new Map<number, DType>(
  Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]),
);

export const ELEMENT_BYTES: Record<DType, number> = {
  float32: 4,
  int32: 4,
  int64: 8,
  bool: 1,
  float64: 8,
};

export const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export const IR_VERSION = 9;
export const OPSET = 20;
