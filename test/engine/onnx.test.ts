import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { gradients } from "../../src/engine/autodiff.js";
import { GraphBuilder } from "../../src/engine/builder.js";
import { exportOnnx, exportOnnxBytes } from "../../src/engine/gpt/export.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { importOnnx } from "../../src/engine/onnx/import.js";
import { decodeModel } from "../../src/engine/onnx/proto.js";
import { Session, tensor } from "../../src/engine/runtime.js";

const CFG = { vocab: 23, dModel: 16, layers: 2, heads: 2, context: 10 };
const ROWS = [
  [1, 2, 3, 4, 5, 6],
  [7, 8, 9],
];

describe("ONNX export", () => {
  it("a fresh ONNX Runtime session on the exported file gives keel's logits, values and rewards", async () => {
    const m = new Gpt(CFG, { seed: 4, threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), "keel-onnx-"));
    const path = join(dir, "model.onnx");
    exportOnnx(m, path, ["logits", "values", "rewards"]);
    // standard ONNX only: keel's own float32 graphs use ONNX Runtime's FusedMatMul, the export not
    const domains = new Set(decodeModel(exportOnnxBytes(m, ["logits"])).nodes.map((n) => n.domain));
    expect([...domains]).toEqual([""]);
    const s = await ort.InferenceSession.create(path);
    const b = padBatch(ROWS);
    const out = await s.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.from(b.tokens, BigInt), [b.batch, b.length]),
      attention_mask: new ort.Tensor("int64", BigInt64Array.from(b.mask!, BigInt), [
        b.batch,
        b.length,
      ]),
    });
    const ref = await m.forward(b, ["logits", "values", "rewards"]);
    for (const k of ["logits", "values", "rewards"] as const) {
      const got = out[k]!.data as Float32Array;
      expect(got.length).toBe(ref[k]!.length);
      let worst = 0;
      got.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - ref[k]![i]!));
      });
      expect(worst).toBeLessThan(1e-5);
    }
    rmSync(dir, { recursive: true, force: true });
    await m.dispose();
  });
});

describe("ONNX export at several sequence lengths", () => {
  it("matches keel's forward within 1e-5 from one token to the full context, right- and left-padded", async () => {
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    const heads = ["logits", "logprobs", "values", "rewards"] as const;
    const s = await ort.InferenceSession.create(exportOnnxBytes(m, heads));
    const run = async (b: ReturnType<typeof padBatch>) => {
      const t = (d: Int32Array) =>
        new ort.Tensor("int64", BigInt64Array.from(d, BigInt), [b.batch, b.length]);
      const out = await s.run({ input_ids: t(b.tokens), attention_mask: t(b.mask!) });
      const ref = await m.forward(b, heads);
      for (const k of heads) {
        const got = out[k]!.data as Float32Array;
        expect(got.length).toBe(ref[k]!.length);
        got.forEach((v, i) => {
          expect(Math.abs(v - ref[k]![i]!)).toBeLessThan(1e-5);
        });
      }
    };
    const row = (n: number) => Array.from({ length: n }, (_, i) => (i * 7 + n) % CFG.vocab);
    for (const n of [1, 2, 5, CFG.context]) await run(padBatch([row(n)]));
    await run(padBatch([row(CFG.context), row(1), row(4)]));
    const left = padBatch([[0, 0, 0, ...row(3)], row(6)]);
    await run({ ...left, mask: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]) });
    await s.release();
    await m.dispose();
  });

  it("names each output once when a head is asked for twice", async () => {
    // two outputs named "logits": ONNX Runtime refused to load the file ("Duplicate definition")
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    const s = await ort.InferenceSession.create(exportOnnxBytes(m, ["logits", "values", "logits"]));
    expect(s.outputNames).toEqual(["logits", "values"]);
    await s.release();
    await m.dispose();
  });

  it("refuses an export of no head (a file with no outputs)", async () => {
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    expect(() => exportOnnxBytes(m, [])).toThrow(
      expect.objectContaining({ code: "KEEL_E_USAGE", message: expect.stringMatching(/head/) }),
    );
    await m.dispose();
  });

  it("holds only the weights its outputs read", () => {
    // a logits-only file carried the value and reward heads, which ONNX Runtime warned about
    // on every load
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    const names = (heads: readonly ("logits" | "values" | "rewards")[]) => [
      ...decodeModel(exportOnnxBytes(m, heads)).initializers.keys(),
    ];
    const logits = names(["logits"]);
    expect(logits).toContain("wte");
    expect(logits.filter((n) => /value_head|reward_head/.test(n))).toEqual([]);
    expect(names(["values"])).toEqual(
      expect.arrayContaining(["value_head.weight", "value_head.bias"]),
    );
    expect(names(["values"]).filter((n) => n.startsWith("reward_head"))).toEqual([]);
  });
});

describe("ONNX import + autodiff", () => {
  it("gradients on an imported graph equal gradients on keel's own graph", async () => {
    const m = new Gpt({ ...CFG, dtype: "float32" }, { seed: 5, threads: 1 });
    const imported = importOnnx(exportOnnxBytes(m, ["values"]), {
      trainable: (n) => m.params.has(n),
    });
    // every weight but the reward head's, which the values output does not read
    expect(imported.params.names).toEqual(
      m.params.names.filter((n) => !n.startsWith("reward_head")),
    );
    // loss = Σ values ⊙ d, differentiated by gradients() on the imported graph
    const b = new GraphBuilder(imported.graph);
    const values = b.value(imported.graph.outputs[0]!);
    const d = b.input("d_values", "float32", values.shape);
    const grads = gradients(
      b,
      [{ of: values, grad: d }],
      imported.params.names.map((n) => b.value(n)),
    );
    imported.graph.outputs.length = 0;
    for (const n of imported.params.names)
      b.output(grads.get(n) ?? b.zerosLike(b.value(n)), `g_${n}`);
    const s = await Session.create(imported.graph, { threads: 1 });
    const batch = padBatch(ROWS);
    const dv = Float32Array.from({ length: batch.batch * batch.length }, (_, i) => Math.sin(i));
    const out = await s.run({
      ...imported.params.tensors(),
      input_ids: tensor("int64", BigInt64Array.from(batch.tokens, BigInt), [
        batch.batch,
        batch.length,
      ]),
      attention_mask: tensor("int64", BigInt64Array.from(batch.mask!, BigInt), [
        batch.batch,
        batch.length,
      ]),
      d_values: tensor("float32", dv, [batch.batch, batch.length]),
    });
    const native = await m.backward(batch, { values: dv });
    let worst = 0;
    for (const name of imported.params.names) {
      const [o, n] = m.params.range(name);
      const g = out[`g_${name}`]!.data as Float32Array;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(g[i]! - native[o + i]!));
    }
    expect(worst).toBeLessThan(1e-5);
    await s.dispose();
    await m.dispose();
  });
});
