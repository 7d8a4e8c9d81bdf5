/**
 * Checkpoints whose numbers cannot be used: values that are finite in the file but not in the
 * model (an F64 tensor past float32's range, read into a float32 model), an optimizer state
 * whose second moment is negative, and a config.json number JSON.parse reads as Infinity. Each
 * was accepted and turned into Infinity or NaN in the model, the moments or a trainer's
 * statistics; each must be a KEEL_E_CHECKPOINT naming the file, the tensor or field and the
 * element. Files are made hostile consistently (hashes rewritten), as an attacker would.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  type StTensor,
} from "../../src/engine/checkpoint/safetensors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { runCli } from "../helpers/cli.js";

const CFG = { vocab: 20, dModel: 8, layers: 1, heads: 2, context: 8 };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function keelError(f: () => unknown): KeelError {
  try {
    f();
  } catch (e) {
    if (isKeelError(e)) return e;
    throw new Error(`expected a KeelError, got ${String(e)}`);
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

/** A checkpoint after one AdamW step (moments not zero), with EMA weights. */
function checkpoint(dtype: "float32" | "float64" = "float32"): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-nonfinite-"));
  dirs.push(dir);
  const m = new Gpt({ ...CFG, dtype }, { seed: 3 });
  const opt = new AdamW(m.params, { lr: 1e-3 });
  opt.step(m.params.zerosLike().fill(0.5));
  saveCheckpoint(dir, m, { optimizer: opt, ema: new Ema(m.params, 0.9), step: 1 });
  void m.dispose();
  return dir;
}

function rehash(dir: string): void {
  const path = join(dir, "config.json");
  const meta = JSON.parse(readFileSync(path, "utf8")) as { files: Record<string, string> };
  for (const name of Object.keys(meta.files))
    meta.files[name] = createHash("sha256")
      .update(readFileSync(join(dir, name)))
      .digest("hex");
  writeFileSync(path, JSON.stringify(meta));
}

/** Rewrites one safetensors file of `dir` after `edit`, keeping its metadata, hashes updated. */
function edit(dir: string, file: string, change: (t: Map<string, StTensor>) => void): string {
  const path = join(dir, file);
  const st = decodeSafetensors(readFileSync(path));
  change(st.tensors);
  writeFileSync(path, Buffer.concat(encodeSafetensors(st.tensors, st.metadata)));
  rehash(dir);
  return path;
}

/** `name` rewritten as F64, with `values` at the given elements. */
const asF64 =
  (name: string, values: Record<number, number>) =>
  (t: Map<string, StTensor>): void => {
    const old = t.get(name)!;
    const data = Float64Array.from(old.data as Float32Array);
    for (const [i, x] of Object.entries(values)) data[Number(i)] = x;
    t.set(name, { dtype: "F64", shape: old.shape, data });
  };

describe("F64 tensors read into a float32 model", () => {
  it("refuses weights past float32's range, naming the tensor and element", () => {
    // 1e300 is finite in the file and passed the finiteness check; copied into the float32
    // model it became Infinity, and every logit through that weight NaN
    for (const [name, i, x] of [
      ["wte", 3, 1e300],
      ["h.0.mlp.c_fc.weight", 17, -3.5e38],
    ] as const) {
      const dir = checkpoint();
      const file = edit(dir, "model.safetensors", asF64(name, { [i]: x }));
      const e = keelError(() => loadCheckpoint(dir));
      expect(e.code).toBe("KEEL_E_CHECKPOINT");
      expect(e.where?.file).toBe(file);
      expect(e.detail).toBe(
        `tensor ${name} holds ${x} at element ${i}, beyond the range of the model's float32 (it would load as ${x > 0 ? "" : "-"}Infinity)`,
      );
    }
  });

  it("loads F64 values float32 can hold (rounded, or to 0 below its range), and a float64 model's", () => {
    const dir = checkpoint();
    edit(dir, "model.safetensors", asF64("wte", { 0: 3.4e38, 1: 1e-300, 2: 0.1 }));
    const w = loadCheckpoint(dir).model.params.view("wte");
    expect([w[0], w[1], w[2]]).toEqual([Math.fround(3.4e38), 0, Math.fround(0.1)]);
    const d64 = checkpoint("float64");
    edit(d64, "model.safetensors", (t) => {
      (t.get("wte")!.data as Float64Array)[0] = 1e300;
    });
    expect(loadCheckpoint(d64).model.params.view("wte")[0]).toBe(1e300);
  });

  it("refuses optimizer moments and EMA weights past float32's range", () => {
    const dir = checkpoint();
    const opt = edit(dir, "optimizer.safetensors", asF64("adamw.m", { 7: 1e300 }));
    const ck = loadCheckpoint(dir);
    const e = keelError(() => ck.restoreOptimizer(new AdamW(ck.model.params, { lr: 1e-3 })));
    expect(e.where?.file).toBe(opt);
    expect(e.detail).toMatch(/^tensor adamw\.m holds 1e\+300 at element 7, beyond the range/);
    const ema = edit(dir, "ema.safetensors", asF64("ema", { 0: -1e39 }));
    const ck2 = loadCheckpoint(dir);
    const f = keelError(() => ck2.restoreEma(new Ema(ck2.model.params, 0.9)));
    expect(f.where?.file).toBe(ema);
    expect(f.detail).toMatch(/^tensor ema holds -1e\+39 at element 0, beyond the range/);
  });

  it("keel model info exits 65 naming the tensor", async () => {
    const dir = checkpoint();
    const file = edit(dir, "model.safetensors", asF64("wpe", { 2: 1e39 }));
    const r = await runCli(["model", "info", "--checkpoint", dir]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${file}: tensor wpe holds 1e+39 at element 2, beyond the range`);
  });
});

describe("AdamW's state from a checkpoint", () => {
  it("refuses a negative second moment, which the next step turned into NaN weights", () => {
    const dir = checkpoint();
    const opt = edit(dir, "optimizer.safetensors", (t) => {
      (t.get("adamw.v")!.data as Float32Array)[4] = -1;
    });
    const ck = loadCheckpoint(dir);
    const fresh = new AdamW(ck.model.params, { lr: 1e-3 });
    const e = keelError(() => ck.restoreOptimizer(fresh));
    expect(e.code).toBe("KEEL_E_CHECKPOINT");
    expect(e.where?.file).toBe(opt);
    expect(e.detail).toBe(
      "tensor adamw.v holds -1 at element 4; Adam's second moment is a mean of squares and is never negative",
    );
    // the refused state is not half-restored: the optimizer still steps to finite weights
    expect(fresh.t).toBe(0);
    expect(fresh.v.every((x) => x === 0)).toBe(true);
    fresh.step(ck.model.params.zerosLike().fill(0.1));
    expect(ck.model.params.flat.every(Number.isFinite)).toBe(true);
  });

  it("leaves the optimizer as it was when v is refused after m was read", () => {
    // m was copied into the optimizer before v's NaN was found
    const dir = checkpoint();
    edit(dir, "optimizer.safetensors", (t) => {
      (t.get("adamw.v")!.data as Float32Array)[2] = Number.NaN;
    });
    const ck = loadCheckpoint(dir);
    const fresh = new AdamW(ck.model.params, { lr: 1e-3 });
    expect(keelError(() => ck.restoreOptimizer(fresh)).detail).toBe(
      "tensor adamw.v holds NaN at element 2",
    );
    expect(fresh.m.every((x) => x === 0)).toBe(true);
  });

  it("restores a state with zeros and -0 in v", () => {
    const dir = checkpoint();
    edit(dir, "optimizer.safetensors", (t) => {
      const v = t.get("adamw.v")!.data as Float32Array;
      v[0] = -0;
      v[1] = 0;
    });
    const ck = loadCheckpoint(dir);
    const opt = new AdamW(ck.model.params, { lr: 1e-3 });
    ck.restoreOptimizer(opt);
    expect(opt.t).toBe(1);
  });
});

describe("config.json numbers JSON.parse reads as Infinity", () => {
  it("refuses 1e999 in extra, naming the field (an ensemble member's reward_std of Infinity scored 0)", () => {
    const dir = checkpoint();
    const path = join(dir, "config.json");
    const text = readFileSync(path, "utf8");
    for (const [extra, field] of [
      ['{"kind": "reward", "reward_mean": 0.5, "reward_std": 1e999}', "extra.reward_std"],
      ['{"state": {"moments": [1, -1e999]}}', "extra.state.moments.1"],
    ] as const) {
      writeFileSync(path, text.replace(/"extra": \{\}/, `"extra": ${extra}`));
      const e = keelError(() => loadCheckpoint(dir));
      expect(e.code).toBe("KEEL_E_CHECKPOINT");
      expect(e.where).toEqual({ file: path, field });
      expect(e.detail).toBe(
        `config.json: ${field} is a number beyond the range of a double, which reads as Infinity; keel never writes one`,
      );
    }
    writeFileSync(path, text.replace(/"extra": \{\}/, '"extra": {"reward_std": 1e300}'));
    expect(loadCheckpoint(dir).extra).toEqual({ reward_std: 1e300 });
  });
});

describe("keel model info reads the state it reports", () => {
  it("says yes of state a resume can load, and refuses optimizer or EMA state it cannot", async () => {
    // It said "optimizer state: yes" of a NaN or negative second moment, which only a resume
    // found out.
    const good = await runCli(["model", "info", "--checkpoint", checkpoint(), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ optimizer: true, ema: true });
    const cases: [string, (t: Map<string, StTensor>) => void, string][] = [
      [
        "optimizer.safetensors",
        (t) => {
          (t.get("adamw.v")!.data as Float32Array)[4] = -1;
        },
        "tensor adamw.v holds -1 at element 4",
      ],
      [
        "ema.safetensors",
        (t) => {
          (t.get("ema")!.data as Float32Array)[7] = Number.POSITIVE_INFINITY;
        },
        "tensor ema holds Infinity at element 7",
      ],
    ];
    for (const [file, change, said] of cases) {
      const dir = checkpoint();
      edit(dir, file, change);
      const r = await runCli(["model", "info", "--checkpoint", dir]);
      expect(r.code, file).toBe(65);
      expect(r.stderr).toContain("KEEL_E_CHECKPOINT");
      expect(r.stderr).toContain(said);
    }
  });
});
