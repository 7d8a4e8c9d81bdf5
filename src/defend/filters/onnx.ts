/**
 * A safety classifier backed by any ONNX text classifier (a toxicity or harm model exported
 * from PyTorch, for instance). The model is run through an injected `OnnxRunner` (the CLI wraps
 * an onnxruntime-node session), so this file does no I/O.
 *
 * Contract of the model: inputs `input_ids` (int64 [B, T]) and optionally `attention_mask` and
 * `token_type_ids` (int64 [B, T]); its first output (or the one named `logits`) is [B, C]
 * logits — or probabilities with `outputs: "probabilities"`. Texts are tokenised by the injected
 * `tokenize`, truncated to `maxLength`, right-padded with `padId`.
 *
 *   p_unsafe = softmax(logits)[unsafeLabel]        (or the probability given)
 *   unsafe   = p_unsafe ≥ threshold                (default 0.5)
 */
import { KeelError } from "../../core/errors.js";
import type { SafetyClassifier, SafetyInput, SafetyVerdict } from "./safety.js";

export interface OnnxTensorIn {
  readonly type: "int64";
  readonly data: BigInt64Array;
  readonly dims: readonly number[];
}

export interface OnnxTensorOut {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
}

export interface OnnxRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Readonly<Record<string, OnnxTensorIn>>,
  ): Promise<Readonly<Record<string, OnnxTensorOut>>>;
}

export interface OnnxClassifierOptions {
  readonly id?: string;
  readonly tokenize: (text: string) => readonly number[];
  readonly maxLength?: number;
  readonly padId?: number;
  readonly unsafeLabel?: number;
  readonly threshold?: number;
  readonly outputs?: "logits" | "probabilities";
  readonly withPrompt?: boolean;
  readonly batchSize?: number;
}

export function onnxClassifier(runner: OnnxRunner, o: OnnxClassifierOptions): SafetyClassifier {
  if (!runner.inputNames.includes("input_ids")) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `the ONNX classifier has inputs ${runner.inputNames.join(", ")}; keel feeds input_ids (+ attention_mask, token_type_ids)`,
    );
  }
  const maxLength = o.maxLength ?? 512;
  const pad = BigInt(o.padId ?? 0);
  const label = o.unsafeLabel ?? 1;
  const threshold = o.threshold ?? 0.5;
  // A fractional or negative label reads no class at all: every p(unsafe) would be NaN, and so
  // every response silently safe.
  if (!Number.isInteger(label) || label < 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `the unsafe label must be a class index (0, 1, …); got ${label}`,
    );
  const outName = runner.outputNames.includes("logits") ? "logits" : runner.outputNames[0]!;
  const text = (x: SafetyInput) => (o.withPrompt ? `${x.prompt}\n\n${x.response}` : x.response);
  const runBatch = async (part: readonly SafetyInput[]): Promise<SafetyVerdict[]> => {
    const ids = part.map((x) => o.tokenize(text(x)).slice(0, maxLength));
    const T = Math.max(1, ...ids.map((t) => t.length));
    const B = part.length;
    const inputIds = new BigInt64Array(B * T).fill(pad);
    const mask = new BigInt64Array(B * T);
    ids.forEach((t, b) => {
      t.forEach((id, k) => {
        inputIds[b * T + k] = BigInt(id);
        mask[b * T + k] = 1n;
      });
    });
    const feeds: Record<string, OnnxTensorIn> = {
      input_ids: { type: "int64", data: inputIds, dims: [B, T] },
    };
    if (runner.inputNames.includes("attention_mask"))
      feeds.attention_mask = { type: "int64", data: mask, dims: [B, T] };
    if (runner.inputNames.includes("token_type_ids"))
      feeds.token_type_ids = { type: "int64", data: new BigInt64Array(B * T), dims: [B, T] };
    const out = (await runner.run(feeds))[outName];
    const C = out?.dims[out.dims.length - 1] ?? 0;
    if (out?.dims.length !== 2 || out.dims[0] !== B || label >= C) {
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `ONNX classifier output ${outName} has shape [${out?.dims.join(", ") ?? ""}]; expected [${B}, C] with C > ${label}`,
      );
    }
    return part.map((_, b) => {
      let p: number;
      if (o.outputs === "probabilities") p = Number(out.data[b * C + label]);
      else {
        let m = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < C; c++) m = Math.max(m, Number(out.data[b * C + c]));
        let z = 0;
        for (let c = 0; c < C; c++) z += Math.exp(Number(out.data[b * C + c]) - m);
        p = Math.exp(Number(out.data[b * C + label]) - m) / z;
      }
      // NaN ≥ threshold is false: a model that outputs NaN would pass every response as safe.
      // And a "probability" outside 0..1 (logits read as probabilities) decided by its sign;
      // a float32 rounding's worth past either end is taken as the end.
      if (p < 0 && p > -1e-6) p = 0;
      if (p > 1 && p < 1 + 1e-6) p = 1;
      if (!(p >= 0 && p <= 1))
        throw new KeelError(
          "KEEL_E_UPSTREAM",
          `ONNX classifier output ${outName} gave p(unsafe) = ${p}; expected a number in 0..1`,
          o.outputs === "probabilities"
            ? {
                hint: "with outputs: probabilities the model must output probabilities; if it outputs logits, leave `outputs` out",
              }
            : {},
        );
      const unsafe = p >= threshold;
      return { unsafe, score: p, reasons: unsafe ? [`classifier p(unsafe) ${p.toFixed(2)}`] : [] };
    });
  };
  return {
    id: o.id ?? "onnx",
    async classify(batch) {
      const out: SafetyVerdict[] = [];
      const size = o.batchSize ?? 32;
      for (let i = 0; i < batch.length; i += size)
        out.push(...(await runBatch(batch.slice(i, i + size))));
      return out;
    },
  };
}
