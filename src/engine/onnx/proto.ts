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
 *
 * The table is proto-schema.ts; proto-encode.ts writes and proto-decode.ts reads.
 */

export { type DecodedModel, decodeModel, modelDtypes } from "./proto-decode.js";
export { type EncodeOptions, encodeModel } from "./proto-encode.js";
export { DTYPE_CODE, IR_VERSION, OPSET } from "./proto-schema.js";
