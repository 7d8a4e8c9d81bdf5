/**
 * Hostile and corrupted checkpoints: what a file from a colleague or the internet can do to
 * `loadCheckpoint`, `decodeSafetensors` and the tokenizer reader. Every case must end in a
 * KeelError that names the file and what is wrong, without allocating what the file only
 * claims to hold. Checkpoints are made hostile *consistently* (config.json's hashes rewritten),
 * as an attacker would, so the hash check does not hide the checks behind it.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import {
  loadCheckpoint,
  parameterCount,
  saveCheckpoint,
} from "../../src/engine/checkpoint/checkpoint.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  type StTensor,
} from "../../src/engine/checkpoint/safetensors.js";
import { paramSpecs, parseGptConfig } from "../../src/engine/gpt/config.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";
import { runCli } from "../helpers/cli.js";

const CFG = { vocab: 270, dModel: 8, layers: 1, heads: 2, context: 8 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "keel-hostile-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The KeelError `f` throws (failing the test if it throws anything else or nothing). */
function keelError(f: () => unknown): KeelError {
  try {
    f();
  } catch (e) {
    if (isKeelError(e)) return e;
    throw new Error(`expected a KeelError, got ${String(e)}`);
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

/** A safetensors file from a header (object, or raw JSON text) and `data` bytes. */
function st(header: unknown, data: number | Uint8Array = 0): Buffer {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.byteLength));
  return Buffer.concat([len, json, typeof data === "number" ? Buffer.alloc(data) : data]);
}

const F = "w.safetensors";
const decodeError = (buf: Uint8Array) => {
  const e = keelError(() => decodeSafetensors(buf, F));
  expect(e.code).toBe("KEEL_E_CHECKPOINT");
  expect(e.where?.file).toBe(F);
  return e.detail;
};
const t32 = (begin: number, end: number, shape: unknown = [(end - begin) / 4]) => ({
  dtype: "F32",
  shape,
  data_offsets: [begin, end],
});

describe("decodeSafetensors on hostile headers", () => {
  it("refuses a declared header length that is huge or past the end of the file", () => {
    const huge = st({});
    huge.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(decodeError(huge)).toMatch(/header length 18446744073709551615 is over the/);
    const past = st({ a: t32(0, 8) }, 8);
    past.writeBigUInt64LE(BigInt(past.byteLength), 0);
    expect(decodeError(past)).toMatch(/runs past the end of the file/);
    expect(decodeError(Buffer.alloc(5))).toMatch(/shorter than its 8-byte header length/);
  });

  it("refuses header JSON that is not an object, and entries that are not objects", () => {
    for (const h of ["null", "[1, 2]", '"text"', "42", "{nope"])
      expect(decodeError(st(h))).toMatch(/header is not (a JSON object|JSON)/);
    expect(decodeError(st({ a: null }))).toMatch(/tensor a is not an object/);
    expect(decodeError(st({ a: 7 }))).toMatch(/tensor a is not an object/);
    expect(decodeError(st({ __metadata__: { t: { x: 1 } } }))).toMatch(
      /__metadata__ is not a map of strings/,
    );
  });

  it("keeps __proto__ keys as plain names, polluting nothing", () => {
    const f = decodeSafetensors(
      st(
        '{"__metadata__": {"__proto__": "m"}, "__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
        4,
      ),
    );
    expect([...f.tensors.keys()]).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(f.metadata)).toBe(Object.prototype);
    expect(Object.keys(f.metadata)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it("refuses unknown dtypes, including names that live on Object.prototype", () => {
    for (const dtype of ["F16", "BF16", "toString", "constructor", 7, null])
      expect(decodeError(st({ a: { dtype, shape: [2], data_offsets: [0, 8] } }, 8))).toMatch(
        /tensor a has unsupported dtype .* \(keel reads F32, F64, I32, I64\)/,
      );
  });

  it("refuses negative, non-integer, reversed and out-of-bounds data_offsets", () => {
    // [-8, 0] used to pass (8 bytes for 2 floats) and read the header's bytes as weights
    for (const offs of [[-8, 0], ["0", "8"], [0.5, 8.5], [8, 0], [0], [0, 8, 16], "0-8"])
      expect(
        decodeError(st({ a: t32(0, 8, [2]), b: { ...t32(0, 8, [2]), data_offsets: offs } }, 16)),
      ).toMatch(/tensor b has data_offsets .* expected \[begin, end\]/);
    expect(decodeError(st({ a: t32(0, 8), b: t32(8, 24) }, 16))).toMatch(
      /tensor b has data_offsets \[8, 24\] past the end of the data \(16 bytes\)/,
    );
  });

  it("refuses overlapping tensors, gaps, duplicate names and trailing bytes", () => {
    expect(decodeError(st({ a: t32(0, 8), b: t32(4, 12) }, 12))).toMatch(
      /tensor b overlaps tensor a/,
    );
    expect(decodeError(st({ a: t32(0, 8), b: t32(0, 8) }, 8))).toMatch(/overlaps tensor a/);
    expect(decodeError(st({ a: t32(4, 12) }, 12))).toMatch(
      /bytes 0–4 before tensor a belong to no tensor/,
    );
    // JSON.parse keeps the last of a duplicated name: the first one's bytes are left over
    const dup = st(
      '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}',
      16,
    );
    expect(decodeError(dup)).toMatch(/bytes 0–8 before tensor a belong to no tensor/);
    expect(decodeError(st({ a: t32(0, 8) }, 12))).toMatch(
      /4 bytes after the last tensor belong to no tensor/,
    );
  });

  it("refuses shapes that are negative, fractional, overflow, or do not match the bytes", () => {
    for (const shape of [[-2, -2], [0.5, 8], ["2", "2"], 4, [2, null]])
      expect(decodeError(st({ a: t32(0, 16, shape) }, 16))).toMatch(
        /tensor a has shape .* a shape is a list of non-negative integers/,
      );
    expect(decodeError(st({ a: t32(0, 16, [2 ** 40, 2 ** 40, 2 ** 40]) }, 16))).toMatch(
      /shape \[1099511627776, 1099511627776, 1099511627776\] of F32 needs more than 16 bytes/,
    );
    expect(decodeSafetensors(st({ z: t32(0, 0, [2 ** 40, 2 ** 40, 0]) })).tensors.size).toBe(1);
    expect(decodeError(st({ a: t32(0, 16, [3]) }, 16))).toMatch(
      /shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 16\] hold 16/,
    );
    // a shape whose byte count passes the data's size exactly at a later dim: [4] fills the 16
    // bytes, [4, 2] claims 32 of them
    for (const shape of [
      [4, 2],
      [2, 2, 2],
    ])
      expect(decodeError(st({ a: t32(0, 16, shape) }, 16))).toMatch(
        /of F32 needs more than 16 bytes, but data_offsets \[0, 16\] hold 16/,
      );
    expect(decodeSafetensors(st({ e: t32(0, 0, [0, 5]) })).tensors.get("e")!.data.length).toBe(0);
  });

  it("a valid file cut anywhere is refused with KEEL_E_CHECKPOINT", () => {
    const full = Buffer.concat(
      encodeSafetensors(
        new Map([
          ["a", { dtype: "F32", shape: [40], data: new Float32Array(40) }],
          ["b", { dtype: "I64", shape: [30], data: new BigInt64Array(30) }],
        ]),
        { note: "n" },
      ),
    );
    for (let cut = 0; cut < full.byteLength; cut += 7) decodeError(full.subarray(0, cut));
  });
});

// --- whole checkpoints -------------------------------------------------------------------

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Rewrites config.json (through `edit`) with the hashes of the files as they now are. */
interface ConfigJson {
  config: Record<string, unknown>;
  files: Record<string, string>;
}

function rehash(dir: string, edit: (meta: ConfigJson) => void = () => {}) {
  const path = join(dir, "config.json");
  const meta = JSON.parse(readFileSync(path, "utf8")) as ConfigJson;
  for (const name of Object.keys(meta.files)) meta.files[name] = sha(readFileSync(join(dir, name)));
  edit(meta);
  writeFileSync(path, JSON.stringify(meta));
}

/** Rewrites model.safetensors after `edit` changes its tensors, consistently hashed. */
function editWeights(dir: string, edit: (t: Map<string, StTensor>) => void) {
  const f = join(dir, "model.safetensors");
  const tensors = decodeSafetensors(readFileSync(f)).tensors;
  edit(tensors);
  writeFileSync(f, Buffer.concat(encodeSafetensors(tensors)));
  rehash(dir);
}

function freshCheckpoint(o: { optimizer?: boolean; tokenizer?: boolean } = {}): string {
  const dir = tmp();
  const m = new Gpt(CFG, { seed: 5 });
  saveCheckpoint(dir, m, {
    ...(o.optimizer
      ? { optimizer: new AdamW(m.params, { lr: 1e-3 }), ema: new Ema(m.params, 0.9) }
      : {}),
    ...(o.tokenizer ? { tokenizer: trainBpe(["two plus two is four"], { vocabSize: 262 }) } : {}),
  });
  return dir;
}

const loadError = (dir: string) => {
  const e = keelError(() => loadCheckpoint(dir));
  expect(e.code).toBe("KEEL_E_CHECKPOINT");
  return e;
};

describe("loadCheckpoint on hostile checkpoints", () => {
  it("counts parameters exactly as paramSpecs lists them", () => {
    for (const c of [CFG, { vocab: 50, dModel: 12, layers: 3, heads: 3, context: 7 }]) {
      const specs = paramSpecs(parseGptConfig(c));
      const n = specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
      expect(parameterCount(parseGptConfig(c))).toBe(n);
    }
  });

  it("refuses an absurd config.json before allocating what it describes", () => {
    // Each of these used to build the model first: gigabytes of parameters (or a RangeError
    // with a stack trace) before the weights file was even opened.
    for (const [k, v] of [
      ["dModel", 1e9],
      ["layers", 1e6],
      ["vocab", 1e9],
      ["context", 2 ** 40],
    ] as const) {
      const dir = freshCheckpoint();
      rehash(dir, (m) => {
        m.config[k] = v;
        if (k === "dModel") m.config.heads = 1;
      });
      const e = loadError(dir);
      expect(e.where?.file).toBe(join(dir, "model.safetensors"));
      expect(e.detail).toMatch(/config.json describes a model of \d.* parameters .* at least/);
    }
    for (const [k, v, why] of [
      ["vocab", 0, /vocab/],
      ["layers", -3, /layers/],
      ["dModel", 1.5, /dModel/],
      ["heads", "2", /heads/],
    ] as const) {
      const dir = freshCheckpoint();
      rehash(dir, (m) => {
        m.config[k] = v;
      });
      const e = loadError(dir);
      expect(e.where).toMatchObject({ file: join(dir, "config.json") });
      expect(e.where?.field).toMatch(why);
    }
    const nan = freshCheckpoint();
    writeFileSync(
      join(nan, "config.json"),
      readFileSync(join(nan, "config.json"), "utf8").replace(/"vocab": \d+/, '"vocab": NaN'),
    );
    expect(loadError(nan).detail).toMatch(/config.json is not JSON/);
  });

  it("refuses a config.json whose files name anything but the checkpoint's own files", () => {
    const dir = freshCheckpoint();
    rehash(dir, (m) => {
      m.files["../../outside.safetensors"] = m.files["model.safetensors"]!;
    });
    expect(loadError(dir).where?.field).toBe("files");
    const none = freshCheckpoint();
    rehash(none, (m) => {
      delete m.files["model.safetensors"];
    });
    expect(loadError(none).where?.field).toBe("files.model.safetensors");
  });

  it("refuses a weights file with a tensor the config does not have", () => {
    const dir = freshCheckpoint();
    editWeights(dir, (t) => {
      t.set("h.1.ln_1.weight", { dtype: "F32", shape: [8], data: new Float32Array(8) });
    });
    expect(loadError(dir).detail).toMatch(
      /tensor h.1.ln_1.weight is not a parameter of the model config.json describes/,
    );
  });

  it("refuses a tensor of the right size but the wrong shape (it used to load transposed)", () => {
    const dir = freshCheckpoint();
    editWeights(dir, (t) => {
      const w = t.get("wte")!;
      t.set("wte", { ...w, shape: [CFG.dModel, CFG.vocab] });
    });
    expect(loadError(dir).detail).toBe(
      "tensor wte has shape [8, 270]; config.json's model needs [270, 8]",
    );
  });

  it("names a missing tensor (weights stored as F64 load into a float32 model)", () => {
    const dir = freshCheckpoint();
    const as64 = (t: StTensor): StTensor => ({
      ...t,
      dtype: "F64",
      data: Float64Array.from(t.data as Float32Array),
    });
    editWeights(dir, (t) => {
      for (const [k, v] of t) t.set(k, as64(v));
    });
    const ck = loadCheckpoint(dir);
    expect(ck.model.params.view("wte")[3]).toBeCloseTo(
      new Gpt(CFG, { seed: 5 }).params.view("wte")[3]!,
      6,
    );
    editWeights(dir, (t) => {
      t.delete("h.0.ln_2.bias");
    });
    expect(loadError(dir).detail).toBe("tensor h.0.ln_2.bias is missing");
  });

  it("refuses integer tensors where floats belong", () => {
    const dir = freshCheckpoint();
    editWeights(dir, (t) => {
      const w = t.get("ln_f.bias")!;
      t.set("ln_f.bias", { dtype: "I32", shape: w.shape, data: new Int32Array(w.data.length) });
    });
    expect(loadError(dir).detail).toMatch(/tensor ln_f.bias is I32; expected F32 or F64/);
  });

  it("refuses NaN and infinite weights, naming the tensor and element", () => {
    for (const [bad, name, i] of [
      [Number.NaN, "wte", 5],
      [Number.POSITIVE_INFINITY, "h.0.mlp.c_fc.weight", 17],
      [Number.NEGATIVE_INFINITY, "reward_head.bias", 0],
    ] as const) {
      const dir = freshCheckpoint();
      editWeights(dir, (t) => {
        (t.get(name)!.data as Float32Array)[i] = bad;
      });
      const e = loadError(dir);
      expect(e.where?.file).toBe(join(dir, "model.safetensors"));
      expect(e.detail).toBe(`tensor ${name} holds ${bad} at element ${i}`);
    }
  });

  it("refuses NaN optimizer moments and EMA weights, and a step count that is not a count", () => {
    const dir = freshCheckpoint({ optimizer: true });
    const ck = loadCheckpoint(dir);
    const fresh = () => new AdamW(ck.model.params, { lr: 1e-3 });
    ck.restoreOptimizer(fresh());
    const opt = join(dir, "optimizer.safetensors");
    const o = decodeSafetensors(readFileSync(opt));
    (o.tensors.get("adamw.v")!.data as Float32Array)[2] = Number.NaN;
    writeFileSync(opt, Buffer.concat(encodeSafetensors(o.tensors, { t: "3" })));
    rehash(dir);
    expect(keelError(() => loadCheckpoint(dir).restoreOptimizer(fresh())).detail).toBe(
      "tensor adamw.v holds NaN at element 2",
    );
    (o.tensors.get("adamw.v")!.data as Float32Array)[2] = 0;
    writeFileSync(opt, Buffer.concat(encodeSafetensors(o.tensors, { t: "soon" })));
    rehash(dir);
    const t = keelError(() => loadCheckpoint(dir).restoreOptimizer(fresh()));
    expect(t.where).toMatchObject({ file: opt, field: "__metadata__.t" });
    const ema = join(dir, "ema.safetensors");
    const s = decodeSafetensors(readFileSync(ema));
    (s.tensors.get("ema")!.data as Float32Array)[0] = Number.POSITIVE_INFINITY;
    writeFileSync(ema, Buffer.concat(encodeSafetensors(s.tensors)));
    rehash(dir);
    const ck2 = loadCheckpoint(dir);
    expect(keelError(() => ck2.restoreEma(new Ema(ck2.model.params, 0.9))).detail).toBe(
      "tensor ema holds Infinity at element 0",
    );
  });

  it("refuses a weights file truncated anywhere (hashes rewritten to match)", () => {
    const dir = freshCheckpoint();
    const f = join(dir, "model.safetensors");
    const full = readFileSync(f);
    for (let cut = 0; cut < full.byteLength; cut += 311) {
      writeFileSync(f, full.subarray(0, cut));
      rehash(dir);
      expect(loadError(dir).where?.file).toBe(f);
    }
  });

  it("refuses a weights file much larger than the config's model, before reading it", () => {
    const dir = freshCheckpoint();
    const f = join(dir, "model.safetensors");
    // a sparse 200 MB file (its hash left stale: the size is checked before anything is read)
    writeFileSync(f, Buffer.alloc(0));
    truncateSync(f, 200_000_000);
    expect(loadError(dir).detail).toMatch(/model.safetensors is 200000000 bytes; .* at most \d+/);
  });

  it("refuses a tokenizer.json that is not JSON, or larger than the model's vocab", () => {
    const dir = freshCheckpoint({ tokenizer: true });
    const tok = join(dir, "tokenizer.json");
    const good = readFileSync(tok);
    writeFileSync(tok, good.subarray(0, 100));
    rehash(dir);
    const e = loadError(dir);
    expect(e.where?.file).toBe(tok);
    expect(e.detail).toBe("tokenizer.json is not JSON");
    writeFileSync(tok, good);
    rehash(dir, (m) => {
      m.config.vocab = 200;
    });
    editWeights(dir, (t) => {
      const w = t.get("wte")!;
      t.set("wte", { ...w, shape: [200, 8], data: (w.data as Float32Array).slice(0, 1600) });
    });
    const n = loadCheckpoint(freshCheckpoint({ tokenizer: true })).tokenizer!.vocabSize;
    expect(n).toBeGreaterThan(200);
    expect(loadError(dir).detail).toBe(
      `tokenizer.json has ${n} tokens but the model's vocab is 200`,
    );
  });
});

describe("keel model info on a hostile checkpoint", () => {
  it("exits 65 with the file and the problem, no stack trace", async () => {
    const dir = freshCheckpoint();
    editWeights(dir, (t) => {
      (t.get("wpe")!.data as Float32Array)[1] = Number.NaN;
    });
    const r = await runCli(["model", "info", "--checkpoint", dir]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      `${join(dir, "model.safetensors")}: tensor wpe holds NaN at element 1`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const big = freshCheckpoint();
    rehash(big, (m) => {
      m.config.layers = 1e6;
    });
    const b = await runCli(["model", "info", "--checkpoint", big]);
    expect(b.code).toBe(65);
    expect(b.stderr).toMatch(
      /describes a model of 872002258 parameters \(vocab 270, dModel 8, layers 1000000, context 8\)/,
    );
    expect(b.stderr).not.toMatch(/\n\s+at /);
  });
});
