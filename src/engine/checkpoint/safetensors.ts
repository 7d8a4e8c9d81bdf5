/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into
 * the data that follows, contiguous and in order) plus an optional "__metadata__" map of
 * strings, padded with spaces to a multiple of 8; then the raw little-endian tensor bytes.
 */
import { KeelError } from "../../core/errors.js";
import { numel, type TypedData } from "../graph.js";

export type StDtype = "F32" | "F64" | "I32" | "I64";

export interface StTensor {
  readonly dtype: StDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

const BYTES: Record<StDtype, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };

/** Serialises tensors (in the given order) into safetensors chunks: header, then each payload. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, StTensor>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const payloads: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const n = numel(t.shape);
    if (t.data.length !== n) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `tensor ${name} has ${t.data.length} values for shape [${t.shape.join(", ")}]`,
      );
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [off, off + bytes.byteLength],
    };
    off += bytes.byteLength;
    payloads.push(bytes);
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const hb = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.byteLength));
  return [len, hb, ...payloads];
}

export interface SafetensorsFile {
  readonly tensors: Map<string, StTensor>;
  readonly metadata: Record<string, string>;
}

function view(dtype: StDtype, bytes: Uint8Array): TypedData {
  const copy = new Uint8Array(bytes.byteLength); // aligned and owned (Buffer#slice would alias)
  copy.set(bytes);
  const b = copy.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(b);
    case "F64":
      return new Float64Array(b);
    case "I32":
      return new Int32Array(b);
    case "I64":
      return new BigInt64Array(b);
  }
}

export function decodeSafetensors(buf: Uint8Array, file?: string): SafetensorsFile {
  const where = file ? { file } : {};
  const bad = (msg: string) =>
    new KeelError("KEEL_E_CHECKPOINT", `not a valid safetensors file: ${msg}`, { where });
  if (buf.byteLength < 8) throw bad("shorter than its 8-byte header length");
  const n = Number(Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE());
  if (8 + n > buf.byteLength) throw bad("header runs past the end of the file");
  let header: Record<
    string,
    { dtype: StDtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString("utf8"));
  } catch {
    throw bad("header is not JSON");
  }
  const base = 8 + n;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = h as Record<string, string>;
      continue;
    }
    const t = h as { dtype: StDtype; shape: number[]; data_offsets: [number, number] };
    if (!(t.dtype in BYTES)) throw bad(`tensor ${name} has unsupported dtype ${t.dtype}`);
    const [s, e] = t.data_offsets;
    if (e - s !== numel(t.shape) * BYTES[t.dtype] || base + e > buf.byteLength)
      throw bad(`tensor ${name} has inconsistent offsets`);
    const data = view(t.dtype, buf.subarray(base + s, base + e)) as StTensor["data"];
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}
