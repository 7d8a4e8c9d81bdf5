/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets into
 * the data that follows, contiguous and in order) plus an optional "__metadata__" map of
 * strings, padded with spaces to a multiple of 8; then the raw little-endian tensor bytes.
 *
 * Files come from other people, so the decoder trusts nothing in them: the header is at most
 * MAX_HEADER_BYTES, every shape is of non-negative integers whose byte size matches its
 * offsets, and the tensors tile the data exactly (no overlap, no gap, nothing past the end or
 * left over) — the same checks as the reference Rust implementation. Each failure is a
 * KEEL_E_CHECKPOINT naming the file and the tensor.
 */
import { KeelError } from "../../core/errors.js";
import { numel, type TypedData } from "../graph.js";

export type StDtype = "F32" | "F64" | "I32" | "I64";

export interface StTensor {
  readonly dtype: StDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

const BYTES: Readonly<Record<StDtype, number>> = { F32: 4, F64: 8, I32: 4, I64: 8 };

/** The reference implementation's limit; a real header is kilobytes. */
export const MAX_HEADER_BYTES = 100_000_000;

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

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A tensor's header entry, checked. */
interface Entry {
  readonly name: string;
  readonly dtype: StDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function checkEntry(
  name: string,
  h: unknown,
  dataBytes: number,
  bad: (msg: string) => KeelError,
): Entry {
  if (!isPlainObject(h)) throw bad(`tensor ${name} is not an object`);
  const { dtype, shape, data_offsets: offs } = h;
  if (typeof dtype !== "string" || !Object.hasOwn(BYTES, dtype))
    throw bad(
      `tensor ${name} has unsupported dtype ${JSON.stringify(dtype)} (keel reads ${Object.keys(BYTES).join(", ")})`,
    );
  if (!Array.isArray(shape) || !shape.every(isCount))
    throw bad(
      `tensor ${name} has shape ${JSON.stringify(shape)}; a shape is a list of non-negative integers`,
    );
  const [begin, end] = Array.isArray(offs) && offs.length === 2 ? offs : [];
  if (!isCount(begin) || !isCount(end) || begin > end)
    throw bad(
      `tensor ${name} has data_offsets ${JSON.stringify(offs)}; expected [begin, end] with 0 ≤ begin ≤ end`,
    );
  if (end > dataBytes)
    throw bad(
      `tensor ${name} has data_offsets [${begin}, ${end}] past the end of the data (${dataBytes} bytes)`,
    );
  // Multiplied out with a bound, so a shape like [2^40, 2^40] cannot overflow the count.
  let bytes = (shape as number[]).includes(0) ? 0 : BYTES[dtype as StDtype];
  for (const d of shape as number[]) if (bytes <= dataBytes) bytes *= d;
  if (bytes !== end - begin)
    throw bad(
      `tensor ${name}: shape [${(shape as number[]).join(", ")}] of ${dtype} needs ${bytes > dataBytes ? `more than ${dataBytes}` : bytes} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  return { name, dtype: dtype as StDtype, shape: shape as number[], begin, end };
}

export function decodeSafetensors(buf: Uint8Array, file?: string): SafetensorsFile {
  const where = file ? { file } : {};
  const bad = (msg: string) =>
    new KeelError("KEEL_E_CHECKPOINT", `not a valid safetensors file: ${msg}`, {
      where,
      hint: "the file is corrupt, truncated or not safetensors; get a fresh copy",
    });
  if (buf.byteLength < 8) throw bad("shorter than its 8-byte header length");
  const declared = Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE();
  if (declared > BigInt(MAX_HEADER_BYTES))
    throw bad(`header length ${declared} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(declared);
  if (8 + n > buf.byteLength)
    throw bad(`header length ${n} runs past the end of the file (${buf.byteLength} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString("utf8"));
  } catch {
    throw bad("header is not JSON");
  }
  if (!isPlainObject(header)) throw bad("header is not a JSON object");
  const base = 8 + n;
  const dataBytes = buf.byteLength - base;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(h) || !Object.values(h).every((v) => typeof v === "string"))
        throw bad("__metadata__ is not a map of strings");
      metadata = Object.fromEntries(Object.entries(h)) as Record<string, string>;
    } else entries.push(checkEntry(name, h, dataBytes, bad));
  }
  // The tensors must tile the data: sorted by offset, each begins where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = "the start of the data";
  for (const e of sorted) {
    if (e.begin < at) throw bad(`tensor ${e.name} overlaps ${prev} (bytes ${e.begin}–${at})`);
    if (e.begin > at)
      throw bad(`bytes ${at}–${e.begin} before tensor ${e.name} belong to no tensor`);
    at = e.end;
    prev = `tensor ${e.name}`;
  }
  if (at !== dataBytes)
    throw bad(`${dataBytes - at} bytes after the last tensor belong to no tensor`);
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const data = view(e.dtype, buf.subarray(base + e.begin, base + e.end)) as StTensor["data"];
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
