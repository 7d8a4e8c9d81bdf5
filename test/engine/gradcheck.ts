/**
 * Finite-difference gradient checking for engine graphs. A test builds a function of some
 * float inputs; the checker appends loss = Σ out·R (R a fixed random weight, so that no
 * gradient is trivially uniform), differentiates it with `gradients`, and compares every input
 * element's analytic gradient with the central difference (L(x+h) − L(x−h)) / 2h computed in
 * float64. A float32 build is checked against the float64 finite differences of the same
 * function, which isolates the float32 rule from finite-difference noise.
 */

import { Rng } from "../../src/core/rng.js";
import { gradients } from "../../src/engine/autodiff.js";
import type { T } from "../../src/engine/builder.js";
import { GraphBuilder } from "../../src/engine/builder.js";
import type { DType, Shape } from "../../src/engine/graph.js";
import { Session, tensor } from "../../src/engine/runtime.js";

export interface InputSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values; random normal by default. */
  readonly values?: readonly number[];
  /** Integer inputs are fed as given and not differentiated. */
  readonly dtype?: "int64" | "int32" | "bool";
  /** Float inputs excluded from the check (e.g. bounds). */
  readonly constant?: boolean;
}

export interface CheckResult {
  readonly maxAbsErr: number;
  readonly maxRelErr: number;
  readonly analytic: Record<string, Float64Array>;
  readonly numeric: Record<string, Float64Array>;
}

type Build = (b: GraphBuilder, inputs: Record<string, T>) => T;

function buildLoss(dtype: DType, specs: readonly InputSpec[], build: Build, seed: number) {
  const b = new GraphBuilder("gradcheck");
  const ins: Record<string, T> = {};
  for (const s of specs) ins[s.name] = b.input(s.name, s.dtype ?? dtype, s.shape as Shape);
  const out = build(b, ins);
  const rng = new Rng(seed);
  const dims = out.shape as number[];
  const n = dims.reduce((a, d) => a * d, 1);
  const r = b.constant(
    out.dtype,
    Array.from({ length: n }, () => rng.normal()),
    dims,
  );
  const loss = b.reduceSum(b.mul(out, r), [], false);
  return { b, ins, loss };
}

function feed(dtype: DType, specs: readonly InputSpec[], values: Record<string, Float64Array>) {
  const feeds: Record<string, ReturnType<typeof tensor>> = {};
  for (const s of specs) {
    const v = values[s.name]!;
    const dt = s.dtype ?? dtype;
    const data =
      dt === "float64"
        ? Float64Array.from(v)
        : dt === "float32"
          ? Float32Array.from(v)
          : dt === "int32"
            ? Int32Array.from(v)
            : dt === "bool"
              ? Uint8Array.from(v)
              : BigInt64Array.from(v, (x) => BigInt(x));
    feeds[s.name] = tensor(dt, data, s.shape);
  }
  return feeds;
}

export async function gradcheck(
  specs: readonly InputSpec[],
  build: Build,
  opts: { dtype?: "float32" | "float64"; seed?: number; h?: number } = {},
): Promise<CheckResult> {
  const dtype = opts.dtype ?? "float64";
  const seed = opts.seed ?? 1;
  const rng = new Rng(seed + 1);
  const values: Record<string, Float64Array> = {};
  for (const s of specs) {
    const n = s.shape.reduce((a, d) => a * d, 1);
    values[s.name] = Float64Array.from(s.values ?? Array.from({ length: n }, () => rng.normal()));
  }
  const wrtSpecs = specs.filter((s) => !s.dtype && !s.constant);

  const a = buildLoss(dtype, specs, build, seed);
  const grads = gradients(
    a.b,
    [{ of: a.loss }],
    wrtSpecs.map((s) => a.ins[s.name]!),
  );
  a.b.output(a.loss, "loss");
  for (const s of wrtSpecs)
    a.b.output(grads.get(s.name) ?? a.b.zerosLike(a.ins[s.name]!), `grad_${s.name}`);
  const sa = await Session.create(a.b.graph, { threads: 1 });
  const outA = await sa.run(feed(dtype, specs, values));
  const analytic: Record<string, Float64Array> = {};
  for (const s of wrtSpecs)
    analytic[s.name] = Float64Array.from(outA[`grad_${s.name}`]!.data as Float64Array);

  const f = buildLoss("float64", specs, build, seed);
  f.b.output(f.loss, "loss");
  const sf = await Session.create(f.b.graph, { threads: 1 });
  const h = opts.h ?? 1e-6;
  const numeric: Record<string, Float64Array> = {};
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (const s of wrtSpecs) {
    const v = values[s.name]!;
    const num = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x0 = v[i]!;
      v[i] = x0 + h;
      const lp = (await sf.run(feed("float64", specs, values))).loss!.data[0] as number;
      v[i] = x0 - h;
      const lm = (await sf.run(feed("float64", specs, values))).loss!.data[0] as number;
      v[i] = x0;
      num[i] = (lp - lm) / (2 * h);
      const err = Math.abs(num[i]! - analytic[s.name]![i]!);
      maxAbsErr = Math.max(maxAbsErr, err);
      maxRelErr = Math.max(maxRelErr, err / Math.max(1, Math.abs(num[i]!)));
    }
    numeric[s.name] = num;
  }
  await sa.dispose();
  await sf.dispose();
  return { maxAbsErr, maxRelErr, analytic, numeric };
}
