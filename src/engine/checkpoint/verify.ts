/**
 * The checks a checkpoint's files pass before a byte of them is used: each file config.json
 * lists is read within the size its config implies and must match the listed SHA-256; the
 * weights are exactly the model's parameters with their shapes; every tensor is float, of the
 * right length and finite, and stays finite in the model's float type; Adam's v is not negative.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import type { FloatArray, ParamSpec } from "../params.js";
import type { SafetensorsFile, StTensor } from "./safetensors.js";

export const sha256 = (chunks: readonly Uint8Array[]) => {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
};

/**
 * Reads a file config.json lists and checks it against the listed hash. `bytes` bounds its
 * size before anything is read, so a hostile or mismatched checkpoint cannot make keel read
 * (and hash, and hold) more than its config implies.
 */
export function readVerified(
  dir: string,
  name: string,
  files: Record<string, string | undefined>,
  bytes: { readonly min?: number; readonly max: number; readonly why: string },
): Buffer {
  const path = join(dir, name);
  if (files[name] === undefined)
    throw new KeelError("KEEL_E_CHECKPOINT", `config.json does not list ${name}`, {
      where: { file: join(dir, "config.json"), field: `files.${name}` },
    });
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} is listed in config.json but cannot be read: ${describeFsError(e)}`,
      { where: { file: path }, cause: e },
    );
  }
  if (size > bytes.max || size < (bytes.min ?? 0))
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} is ${size} bytes; ${bytes.why} it must be ${size > bytes.max ? `at most ${bytes.max}` : `at least ${bytes.min}`}`,
      { where: { file: path }, hint: "the files do not belong together; get a complete copy" },
    );
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", `cannot read ${name}: ${describeFsError(e)}`, {
      where: { file: path },
      cause: e,
    });
  }
  if (sha256([buf]) !== files[name]) {
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${name} does not match the hash in config.json (torn or edited checkpoint)`,
      {
        where: { file: path },
        hint: "restore the checkpoint from a complete save",
      },
    );
  }
  return buf;
}

/** Index of the first NaN or ±Infinity in `a`, or -1 (x − x is 0 exactly for finite x). */
function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Index of the first value float32 rounds to ±Infinity (|x| past its largest), or -1. */
function firstPastFloat32(a: Float64Array): number {
  for (let i = 0; i < a.length; i++) if (Math.fround(a[i]!) - Math.fround(a[i]!) !== 0) return i;
  return -1;
}

/**
 * Refuses a tensor holding NaN or ±Infinity: loaded, it would turn every score into NaN. An F64
 * tensor read into float32 storage must also fit float32: 1e300 is finite, but it lands as
 * Infinity, past the check above.
 */
function checkFinite(data: FloatArray, what: string, file: string, into: Dtype): void {
  const hint =
    "the weights are corrupt or the run that wrote them diverged; use an earlier checkpoint";
  const i = firstNonFinite(data);
  if (i >= 0)
    throw new KeelError("KEEL_E_CHECKPOINT", `${what} holds ${data[i]} at element ${i}`, {
      where: { file },
      hint,
    });
  const j = into === "float32" && data instanceof Float64Array ? firstPastFloat32(data) : -1;
  if (j >= 0)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${what} holds ${data[j]} at element ${j}, beyond the range of the model's float32 (it would load as ${Math.fround(data[j]!)})`,
      { where: { file }, hint },
    );
}

type Dtype = "float32" | "float64";

/**
 * The floats of `t`, checked to be present, float, `n` long and finite, and to stay finite in
 * `into`, the type of the array they will be copied into.
 */
export function checkedFloats(
  t: StTensor | undefined,
  n: number,
  what: string,
  file: string,
  into: Dtype,
): FloatArray {
  if (!t) throw new KeelError("KEEL_E_CHECKPOINT", `${what} is missing`, { where: { file } });
  if (t.data instanceof Int32Array || t.data instanceof BigInt64Array)
    throw new KeelError("KEEL_E_CHECKPOINT", `${what} is ${t.dtype}; expected F32 or F64`, {
      where: { file },
    });
  if (t.data.length !== n)
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${what} has ${t.data.length} values; the model needs ${n}`,
      { where: { file } },
    );
  checkFinite(t.data, what, file, into);
  return t.data;
}

export function copyInto(
  dst: FloatArray,
  t: StTensor | undefined,
  what: string,
  file: string,
): void {
  const into = dst instanceof Float64Array ? "float64" : "float32";
  dst.set(checkedFloats(t, dst.length, what, file, into));
}

/**
 * Refuses a negative entry of Adam's second moment v (a mean of squares, never negative in a
 * run): the next step takes its square root, NaN, and writes it into the parameter silently.
 */
export function checkSecondMoment(v: FloatArray, what: string, file: string): void {
  for (let i = 0; i < v.length; i++)
    if (v[i]! < 0)
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `${what} holds ${v[i]} at element ${i}; Adam's second moment is a mean of squares and is never negative`,
        {
          where: { file },
          hint: "the optimizer state is corrupt; resume from an earlier checkpoint or start a fresh optimizer",
        },
      );
}

/**
 * The tensors of model.safetensors checked against the model config.json describes: every
 * parameter present with its shape, nothing else (an extra tensor means the file and the
 * config disagree about the architecture).
 */
export function checkWeights(specs: readonly ParamSpec[], st: SafetensorsFile, file: string): void {
  const wanted = new Map(specs.map((s) => [s.name, s.shape]));
  for (const [name, t] of st.tensors) {
    const shape = wanted.get(name);
    if (shape === undefined)
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `tensor ${name} is not a parameter of the model config.json describes`,
        { where: { file }, hint: "config.json and model.safetensors come from different models" },
      );
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `tensor ${name} has shape [${t.shape.join(", ")}]; config.json's model needs [${shape.join(", ")}]`,
        { where: { file } },
      );
  }
  for (const s of specs)
    if (!st.tensors.has(s.name))
      throw new KeelError("KEEL_E_CHECKPOINT", `tensor ${s.name} is missing`, {
        where: { file },
        hint: "config.json and model.safetensors come from different models",
      });
}
