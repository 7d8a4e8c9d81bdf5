/**
 * `keel model …`: create, inspect, export and sample keel's GPT checkpoints. The engine lives
 * in src/engine; this file only parses options, calls it and prints.
 *
 *   keel model init --out DIR --vocab 256 --d-model 128 --layers 2 --heads 4 --context 64
 *   keel model info --checkpoint DIR
 *   keel model export-onnx --checkpoint DIR --out model.onnx [--heads logits,values,rewards]
 *   keel model generate --checkpoint DIR --prompt "2+2=" [--max-new-tokens 32]
 */
import type { Command } from "commander";
import * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../../engine/checkpoint/checkpoint.js";
import { exportOnnx } from "../../engine/gpt/export.js";
import { generate } from "../../engine/gpt/generate.js";
import { HEADS, type Head } from "../../engine/gpt/graphs.js";
import { Gpt, padBatch } from "../../engine/gpt/model.js";
import { BpeTokenizer } from "../../engine/tokenizer/bpe.js";
import { addOutputOptions, positiveInt } from "../common.js";
import { formatTable, printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

interface InitOpts {
  out: string;
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  context: number;
  seed: string;
  tokenizer?: string;
  json?: boolean;
}

async function runInit(o: InitOpts): Promise<void> {
  const { readFileSync } = await import("node:fs");
  const tokenizer = o.tokenizer
    ? BpeTokenizer.fromJSON(JSON.parse(readFileSync(o.tokenizer, "utf8")), o.tokenizer)
    : undefined;
  if (tokenizer && tokenizer.vocabSize > o.vocab) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `--vocab ${o.vocab} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`,
    );
  }
  const model = new Gpt(
    { vocab: o.vocab, dModel: o.dModel, layers: o.layers, heads: o.heads, context: o.context },
    { seed: o.seed },
  );
  saveCheckpoint(o.out, model, { tokenizer, extra: { seed: o.seed } });
  if (o.json) printJson({ checkpoint: o.out, parameters: model.params.size, config: model.config });
  else printLine(`wrote ${o.out} (${model.params.size.toLocaleString("en")} parameters)`);
}

async function runInfo(o: { checkpoint: string; json?: boolean }): Promise<void> {
  const ck = loadCheckpoint(o.checkpoint);
  const c = ck.model.config;
  const info = {
    checkpoint: o.checkpoint,
    config: c,
    parameters: ck.model.params.size,
    step: ck.step,
    optimizer: ck.hasOptimizer,
    ema: ck.hasEma,
    tokenizer: ck.tokenizer ? ck.tokenizer.vocabSize : null,
  };
  if (o.json) printJson(info);
  else {
    printLine(
      formatTable(
        ["field", "value"],
        [
          [
            "vocab / d_model / layers / heads / context",
            `${c.vocab} / ${c.dModel} / ${c.layers} / ${c.heads} / ${c.context}`,
          ],
          ["parameters", ck.model.params.size.toLocaleString("en")],
          ["step", ck.step],
          ["optimizer state", ck.hasOptimizer ? "yes" : "no"],
          ["EMA weights", ck.hasEma ? "yes" : "no"],
          ["tokenizer", ck.tokenizer ? `${ck.tokenizer.vocabSize} tokens` : "none"],
        ],
      ),
    );
  }
  await ck.model.dispose();
}

function parseHeads(v: string): Head[] {
  const heads = v.split(",").map((s) => s.trim());
  for (const h of heads) {
    if (!(HEADS as readonly string[]).includes(h)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `--heads: unknown head ${JSON.stringify(h)}; choose from ${HEADS.join(", ")}`,
      );
    }
  }
  return heads as Head[];
}

/** Runs the exported file in a fresh ONNX Runtime session and compares with keel. */
async function verifyExport(model: Gpt, path: string, heads: readonly Head[]): Promise<number> {
  const rng = new Rng("export-verify");
  const T = Math.min(model.config.context, 16);
  const rows = [0, 1].map((r) =>
    Array.from({ length: T - 3 * r }, () => rng.int(model.config.vocab)),
  );
  const batch = padBatch(rows);
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({
    input_ids: new ort.Tensor("int64", BigInt64Array.from(batch.tokens, BigInt), [
      batch.batch,
      batch.length,
    ]),
    attention_mask: new ort.Tensor("int64", BigInt64Array.from(batch.mask!, BigInt), [
      batch.batch,
      batch.length,
    ]),
  });
  const ref = await model.forward(batch, heads);
  let worst = 0;
  for (const h of heads) {
    const got = out[h]!.data as Float32Array;
    const want = ref[h]!;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  await session.release();
  return worst;
}

async function runExport(o: {
  checkpoint: string;
  out: string;
  heads: Head[];
  verify: boolean;
  json?: boolean;
}): Promise<void> {
  const ck = loadCheckpoint(o.checkpoint);
  const bytes = exportOnnx(ck.model, o.out, o.heads);
  const maxDiff = o.verify ? await verifyExport(ck.model, o.out, o.heads) : undefined;
  await ck.model.dispose();
  if (maxDiff !== undefined && !(maxDiff < 1e-4)) {
    throw new KeelError("KEEL_E_NUMERIC", `the exported model disagrees with keel by ${maxDiff}`, {
      where: { file: o.out },
      hint: "this is a bug in the exporter; please report it with the checkpoint",
    });
  }
  if (o.json) printJson({ out: o.out, bytes, heads: o.heads, max_abs_diff: maxDiff ?? null });
  else {
    printLine(`wrote ${o.out} (${(bytes / 1e6).toFixed(1)} MB, outputs ${o.heads.join(", ")})`);
    if (maxDiff !== undefined)
      printLine(`verified in a fresh ONNX Runtime session: max |Δ| = ${maxDiff.toExponential(2)}`);
  }
}

interface GenOpts {
  checkpoint: string;
  prompt: string[];
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: string;
  json?: boolean;
}

async function runGenerate(o: GenOpts): Promise<void> {
  const ck = loadCheckpoint(o.checkpoint);
  const tok = ck.tokenizer;
  if (!tok) {
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      "the checkpoint has no tokenizer.json, so text prompts cannot be encoded",
      {
        where: { file: o.checkpoint },
      },
    );
  }
  const prompts = o.prompt.map((p) => tok.encode(p));
  const g = await generate(ck.model, prompts, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    seed: o.seed,
  });
  await ck.model.dispose();
  const rows = o.prompt.map((p, i) => ({
    prompt: p,
    completion: tok.decode(g.completions[i]!),
    finish: g.finish[i]!,
  }));
  if (o.json) printJson(rows);
  else for (const r of rows) printLine(`${r.prompt}${r.completion}`);
}

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new KeelError("KEEL_E_USAGE", `${flag} must be a number, got ${JSON.stringify(v)}`);
  return n;
};

export const modelCommand: CommandModule = {
  name: "model",
  register(program: Command) {
    const model = program
      .command("model")
      .description("create, inspect, export and sample GPT checkpoints");
    const init = model
      .command("init")
      .description("write a freshly initialised GPT checkpoint")
      .requiredOption("-o, --out <dir>", "checkpoint directory")
      .option("--vocab <n>", "vocabulary size", positiveInt("--vocab"), 256)
      .option("--d-model <n>", "model width", positiveInt("--d-model"), 128)
      .option("--layers <n>", "transformer blocks", positiveInt("--layers"), 2)
      .option("--heads <n>", "attention heads (must divide --d-model)", positiveInt("--heads"), 4)
      .option("--context <n>", "context length", positiveInt("--context"), 64)
      .option("--seed <seed>", "initialisation seed", "0")
      .option("--tokenizer <file>", "a tokenizer.json to store with the checkpoint");
    addOutputOptions(init).action(runInit);
    const info = model
      .command("info")
      .description("print a checkpoint's configuration and contents")
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory");
    addOutputOptions(info).action(runInfo);
    const exp = model
      .command("export-onnx")
      .description(
        "write a standalone inference .onnx (weights embedded; inputs input_ids, attention_mask)",
      )
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory")
      .requiredOption("-o, --out <file>", "output .onnx file (written atomically)")
      .option("--heads <list>", `outputs, comma-separated from ${HEADS.join(", ")}`, parseHeads, [
        "logits",
      ] as Head[])
      .option(
        "--no-verify",
        "skip the check that a fresh ONNX Runtime session reproduces keel's outputs",
      )
      .addHelpText(
        "after",
        "\nExample:\n  keel model export-onnx --checkpoint runs/policy --out policy.onnx",
      );
    addOutputOptions(exp).action(runExport);
    const gen = model
      .command("generate")
      .description("sample completions for text prompts (the checkpoint must include a tokenizer)")
      .requiredOption("-c, --checkpoint <dir>", "checkpoint directory")
      .requiredOption(
        "-p, --prompt <text>",
        "prompt text, repeatable",
        (v: string, acc: string[]) => [...acc, v],
        [] as string[],
      )
      .option(
        "--max-new-tokens <n>",
        "tokens to generate per prompt",
        positiveInt("--max-new-tokens"),
        32,
      )
      .option("--temperature <t>", "sampling temperature (0 = greedy)", num("--temperature"), 1)
      .option("--top-k <k>", "keep the k most likely tokens", positiveInt("--top-k"))
      .option("--top-p <p>", "nucleus sampling mass", num("--top-p"))
      .option("--seed <seed>", "sampling seed", "0");
    addOutputOptions(gen).action(runGenerate);
  },
};
