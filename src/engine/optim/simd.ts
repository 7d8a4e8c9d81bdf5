/**
 * The AdamW update as a WebAssembly SIMD kernel (4 float32 lanes). The optimiser step is a
 * pass over every parameter after every training step; in plain JavaScript it costs ~5 ns per
 * parameter (scalar sqrt and divide), ~15 ms for a 3M-parameter model, which is 10% of a
 * training step; four lanes bring it to a few milliseconds.
 *
 * The module is assembled here from its opcodes (no toolchain, no binary blob): one function
 *   adamw(p, g, m, v, nbytes, β₁, β₂, keep, stepSize, bc2, ε, scale)
 * over byte offsets into an imported memory, computing for each lane
 *   g' = g·scale;  m ← β₁m + (1−β₁)g';  v ← β₂v + (1−β₂)g'²;
 *   p ← p·keep − stepSize·m / (√v·bc2 + ε)
 * exactly the scalar loop of `adamw.ts`, in float32 like PyTorch. `nbytes` must be a multiple
 * of 16; the caller finishes the (≤ 3-element) tail in JavaScript.
 */

const SIMD = 0xfd;
const op = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Add: 0x6a,
  i32GeU: 0x4f,
  i32Const: 0x41,
  f32Const: 0x43,
  f32Sub: 0x93,
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  void: 0x40,
};
const simd = {
  load: [SIMD, 0x00, 0x00, 0x00],
  store: [SIMD, 0x0b, 0x00, 0x00],
  splat: [SIMD, 0x13],
  sqrt: [SIMD, 0xe3, 0x01],
  add: [SIMD, 0xe4, 0x01],
  sub: [SIMD, 0xe5, 0x01],
  mul: [SIMD, 0xe6, 0x01],
  div: [SIMD, 0xe7, 0x01],
};

// locals: params 0..11, then i (i32) 12, then v128 13..24
const [P, G, M, V, N, B1, B2, KEEP, STEP, BC2, EPS, SCALE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const I = 12;
const [vB1, vB2, vC1, vC2, vKEEP, vSTEP, vBC2, vEPS, vSCALE, tG, tM, tV] = [
  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
];

const get = (i: number) => [op.localGet, i];
const set = (i: number) => [op.localSet, i];
const addr = (base: number) => [...get(base), ...get(I), op.i32Add];
const splat = (scalar: number[], into: number) => [...scalar, ...simd.splat, ...set(into)];
const oneMinus = (i: number) => [op.f32Const, 0x00, 0x00, 0x80, 0x3f, ...get(i), op.f32Sub];

function body(): number[] {
  return [
    ...splat(get(B1), vB1),
    ...splat(get(B2), vB2),
    ...splat(oneMinus(B1), vC1),
    ...splat(oneMinus(B2), vC2),
    ...splat(get(KEEP), vKEEP),
    ...splat(get(STEP), vSTEP),
    ...splat(get(BC2), vBC2),
    ...splat(get(EPS), vEPS),
    ...splat(get(SCALE), vSCALE),
    op.block,
    op.void,
    op.loop,
    op.void,
    ...get(I),
    ...get(N),
    op.i32GeU,
    op.brIf,
    1,
    // g' = g · scale
    ...addr(G),
    ...simd.load,
    ...get(vSCALE),
    ...simd.mul,
    ...set(tG),
    // m = β₁m + (1−β₁)g'
    ...addr(M),
    ...get(vB1),
    ...addr(M),
    ...simd.load,
    ...simd.mul,
    ...get(vC1),
    ...get(tG),
    ...simd.mul,
    ...simd.add,
    op.localTee,
    tM,
    ...simd.store,
    // v = β₂v + (1−β₂)g'²
    ...addr(V),
    ...get(vB2),
    ...addr(V),
    ...simd.load,
    ...simd.mul,
    ...get(vC2),
    ...get(tG),
    ...simd.mul,
    ...get(tG),
    ...simd.mul,
    ...simd.add,
    op.localTee,
    tV,
    ...simd.store,
    // p = p·keep − step·m / (√v·bc2 + ε)
    ...addr(P),
    ...addr(P),
    ...simd.load,
    ...get(vKEEP),
    ...simd.mul,
    ...get(vSTEP),
    ...get(tM),
    ...simd.mul,
    ...get(tV),
    ...simd.sqrt,
    ...get(vBC2),
    ...simd.mul,
    ...get(vEPS),
    ...simd.add,
    ...simd.div,
    ...simd.sub,
    ...simd.store,
    // i += 16
    ...get(I),
    op.i32Const,
    16,
    op.i32Add,
    ...set(I),
    op.br,
    0,
    op.end,
    op.end,
    op.end,
  ];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/**
 * sumsq(ptr, nbytes) → Σ x² as f64: 4-lane float32 partial sums over chunks of 256 floats,
 * each chunk's lanes then added in float64 (so the total keeps float64 accuracy at scale).
 * `nbytes` must be a multiple of 16.
 */
function sumsqBody(): number[] {
  const [PTR, NB, J, ACC, TOTAL, END] = [0, 1, 2, 3, 4, 5];
  const F64_PROMOTE = 0xbb;
  const F64_ADD = 0xa0;
  const lanes = [0, 1, 2, 3].flatMap((l) => [
    ...get(ACC),
    SIMD,
    0x1f,
    l,
    F64_PROMOTE,
    ...get(TOTAL),
    F64_ADD,
    ...set(TOTAL),
  ]);
  const CHUNK = [0x80, 0x08]; // i32.const 1024 (bytes = 256 floats)
  return [
    op.block,
    op.void,
    op.loop,
    op.void,
    ...get(J),
    ...get(NB),
    op.i32GeU,
    op.brIf,
    1,
    SIMD,
    0x0c,
    ...new Array(16).fill(0),
    ...set(ACC), // v128.const 0
    ...get(J),
    op.i32Const,
    ...CHUNK,
    op.i32Add,
    ...get(NB),
    ...get(J),
    op.i32Const,
    ...CHUNK,
    op.i32Add,
    ...get(NB),
    0x49, // i32.lt_u
    0x1b,
    ...set(END), // select: min(j + 1024, nbytes)
    op.block,
    op.void,
    op.loop,
    op.void,
    ...get(J),
    ...get(END),
    op.i32GeU,
    op.brIf,
    1,
    ...get(ACC),
    ...get(PTR),
    ...get(J),
    op.i32Add,
    ...simd.load,
    op.localTee,
    6,
    ...get(6),
    ...simd.mul,
    ...simd.add,
    ...set(ACC),
    ...get(J),
    op.i32Const,
    16,
    op.i32Add,
    ...set(J),
    op.br,
    0,
    op.end,
    op.end,
    ...lanes,
    op.br,
    0,
    op.end,
    op.end,
    ...get(TOTAL),
    op.end,
  ];
}

function moduleBytes(): Uint8Array {
  const I32 = 0x7f;
  const F32 = 0x7d;
  const F64 = 0x7c;
  const V128 = 0x7b;
  const params = [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32];
  const type = [2, 0x60, params.length, ...params, 0, 0x60, 2, I32, I32, 1, F64];
  const imports = [1, ...str("env"), ...str("memory"), 0x02, 0x00, 0x00];
  const funcs = [2, 0, 1];
  const exports = [2, ...str("adamw"), 0x00, 0, ...str("sumsq"), 0x00, 1];
  const adamw = [2, 1, I32, 12, V128, ...body()];
  // sumsq locals: j (i32) 2, acc (v128) 3, total (f64) 4, end (i32) 5, v (v128) 6
  const sumsq = [5, 1, I32, 1, V128, 1, F64, 1, I32, 1, V128, ...sumsqBody()];
  const codeSec = [2, ...uleb(adamw.length), ...adamw, ...uleb(sumsq.length), ...sumsq];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, type),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codeSec),
  ]);
}

/** The slice of the WebAssembly JS API used here (the project's TS lib set omits its types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type AdamwKernel = (
  p: number,
  g: number,
  m: number,
  v: number,
  nbytes: number,
  b1: number,
  b2: number,
  keep: number,
  stepSize: number,
  bc2: number,
  eps: number,
  scale: number,
) => void;

const BYTES = moduleBytes();
let compiled: object | null | undefined;

export type SumsqKernel = (ptr: number, nbytes: number) => number;

/** The kernels bound to `memory`, or undefined where WebAssembly SIMD is unavailable. */
export function simdKernels(
  memory: WasmMemory,
): { adamw: AdamwKernel; sumsq: SumsqKernel } | undefined {
  if (compiled === undefined) compiled = wasm.validate(BYTES) ? new wasm.Module(BYTES) : null;
  if (compiled === null) return undefined;
  const inst = new wasm.Instance(compiled, { env: { memory } });
  return { adamw: inst.exports.adamw as AdamwKernel, sumsq: inst.exports.sumsq as SumsqKernel };
}
