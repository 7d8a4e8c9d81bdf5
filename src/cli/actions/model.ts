/**
 * `keel model info|export-onnx|generate`'s actions over src/engine. `keel model init`'s is in
 * model-init.ts, `keel model score`'s in model-score.ts.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { Rng } from "../../core/rng.js";
import { fileInTheWay, writeFileAtomic } from "../../engine/checkpoint/atomic.js";
import { type Checkpoint, loadCheckpoint } from "../../engine/checkpoint/checkpoint.js";
import { exportOnnxBytes } from "../../engine/gpt/export.js";
import { generate } from "../../engine/gpt/generate.js";
import type { Head } from "../../engine/gpt/graphs.js";
import { type Gpt, padBatch } from "../../engine/gpt/model.js";
import type { BpeTokenizer } from "../../engine/tokenizer/bpe.js";
import { writeJsonlFile } from "../../io/jsonl.js";
import { type ProtectedFile, resolveOutputTarget } from "../../io/output-target.js";
import { readPromptFile } from "../../io/prompts.js";
import { TextCodec } from "../../train/common/codec.js";
import { checkPolicy, checkpointRole, isEnsembleDir } from "../../train/common/role.js";
import { readEnsembleFile } from "../../train/rm/ensemble.js";
import type { ExportOnnxFlags, GenerateFlags, InfoFlags } from "../commands/model.js";
import { formatTable, printJson, printLine, summaryPrinter } from "../output.js";
import { Progress } from "../progress.js";
import { modelFiles } from "./model-files.js";
import { checkOutputFiles } from "./out-paths.js";

/** What `keel model info` reports of one checkpoint. */
async function checkpointInfo(dir: string) {
  const ck = loadCheckpoint(dir);
  try {
    // "optimizer state: yes" only of state a resume can load (finite, v ≥ 0, hashes right)
    ck.checkState();
    const { kind, trainer } = checkpointRole(dir);
    return {
      checkpoint: dir,
      config: ck.model.config,
      parameters: ck.model.params.size,
      step: ck.step,
      optimizer: ck.hasOptimizer,
      ema: ck.hasEma,
      tokenizer: ck.tokenizer ? ck.tokenizer.vocabSize : null,
      trainer: typeof trainer === "string" ? trainer : null,
      kind: typeof kind === "string" ? kind : null,
    };
  } finally {
    await ck.model.dispose();
  }
}

function infoRows(i: Awaited<ReturnType<typeof checkpointInfo>>): (string | number)[][] {
  const c = i.config;
  return [
    [
      "vocab / d_model / layers / heads / context",
      `${c.vocab} / ${c.dModel} / ${c.layers} / ${c.heads} / ${c.context}`,
    ],
    ["parameters", i.parameters.toLocaleString("en")],
    ["step", i.step],
    // a checkpoint's config.json is anyone's text
    ["written by", i.trainer ? `keel train ${printable(i.trainer)}` : "unknown"],
    ["optimizer state", i.optimizer ? "yes" : "no"],
    ["EMA weights", i.ema ? "yes" : "no"],
    ["tokenizer", i.tokenizer !== null ? `${i.tokenizer} tokens` : "none"],
  ];
}

/**
 * A checkpoint's configuration and contents; for a reward- or cost-model directory (what
 * `keel train rm|cost` writes: ensemble.json and one checkpoint per member), the ensemble's
 * scoring and each member's.
 */
export async function runInfo(o: InfoFlags): Promise<void> {
  if (!isEnsembleDir(o.checkpoint)) {
    const info = await checkpointInfo(o.checkpoint);
    if (o.json) printJson(info);
    else printLine(formatTable(["field", "value"], infoRows(info)));
    return;
  }
  const ens = readEnsembleFile(o.checkpoint);
  const members = [];
  for (const m of ens.members) members.push(await checkpointInfo(join(o.checkpoint, m)));
  if (o.json) {
    printJson({ checkpoint: o.checkpoint, ensemble: ens, members });
    return;
  }
  const n = ens.members.length;
  printLine(
    `${o.checkpoint}: ${ens.kind}-model ensemble of ${n} member${n === 1 ? "" : "s"}; scoring ${ens.scoring}${ens.scoring === "uncertainty" ? ` (λ ${ens.lambda})` : ""}, member scores ${ens.normalise ? "normalised by their training rewards" : "raw"}`,
  );
  members.forEach((m, i) => {
    printLine(`\n${printable(`${ens.members[i]} (${m.checkpoint})`)}`);
    printLine(formatTable(["field", "value"], infoRows(m)));
  });
}

/** Runs the exported file in a fresh ONNX Runtime session and compares with keel. */
async function verifyExport(
  model: Gpt,
  file: string | Uint8Array,
  heads: readonly Head[],
): Promise<number> {
  const rng = new Rng("export-verify");
  const T = Math.min(model.config.context, 16);
  const rows = [0, 1].map((r) =>
    Array.from({ length: T - 3 * r }, () => rng.int(model.config.vocab)),
  );
  const batch = padBatch(rows);
  // (two calls: create's overloads take a path or bytes, not the union)
  const session =
    typeof file === "string"
      ? await ort.InferenceSession.create(file)
      : await ort.InferenceSession.create(file);
  try {
    return await compareExport(model, session, batch, heads);
  } finally {
    await session.release();
  }
}

/** The largest difference between the exported model's outputs and keel's on `batch`. */
async function compareExport(
  model: Gpt,
  session: ort.InferenceSession,
  batch: ReturnType<typeof padBatch>,
  heads: readonly Head[],
): Promise<number> {
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
  return worst;
}

export async function runExport(o: ExportOnnxFlags): Promise<void> {
  if (isEnsembleDir(o.checkpoint)) {
    const ens = readEnsembleFile(o.checkpoint);
    throw new KeelError(
      "KEEL_E_USAGE",
      `${o.checkpoint} is a ${ens.kind}-model ensemble (ensemble.json); an ONNX file holds one model`,
      {
        where: { file: join(o.checkpoint, "ensemble.json") },
        hint: `export a member, e.g. --checkpoint ${join(o.checkpoint, ens.members[0]!)} --heads rewards (its raw score; the ensemble's ${ens.scoring} scoring${ens.normalise ? " and normalisation" : ""} stay in keel)`,
      },
    );
  }
  // Before the work: --out must not be one of the checkpoint's own files (the export replaced
  // model.safetensors in place), nor a directory, nor under a file (its directory is created).
  const inTheWay = fileInTheWay(dirname(o.out));
  if (inTheWay !== undefined) {
    throw new KeelError("KEEL_E_FILE", `cannot write: ${inTheWay} is a file, not a directory`, {
      where: { file: o.out },
      hint: "choose an output path that is, or can become, a file in a directory",
    });
  }
  const target = resolveOutputTarget(o.out, modelFiles(o.checkpoint, "the checkpoint"));
  const ck = loadCheckpoint(o.checkpoint);
  let bytes: number;
  let maxDiff: number | undefined;
  try {
    const data = exportOnnxBytes(ck.model, o.heads);
    // A device or FIFO is written in place (renaming over /dev/null would replace the device);
    // its bytes cannot be read back, so the check runs on the bytes written.
    if (target.kind === "direct") writeFileSync(target.path, data);
    else writeFileAtomic(target.path, data);
    bytes = data.byteLength;
    maxDiff = o.verify
      ? await verifyExport(ck.model, target.kind === "direct" ? data : target.path, o.heads)
      : undefined;
  } finally {
    // A failed write or check must not leave the model's sessions to a long-lived caller.
    await ck.model.dispose();
  }
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

/** What `keel model generate --out` must not replace: the prompt file and the checkpoint's files. */
function generateProtects(o: GenerateFlags): ProtectedFile[] {
  return [
    ...(o.prompts !== undefined ? [{ path: o.prompts, what: "the prompt file being read" }] : []),
    ...modelFiles(o.checkpoint, "the checkpoint"),
  ];
}

/**
 * A prompt's token ids. A tokenizer with keel's special tokens means a model trained by keel's
 * trainers: prompt it as they do (prompt, <|sep|>), as serve-model and the pipeline do. Any other
 * tokenizer: the prompt's tokens as they are. Either way the prompt keeps its last tokens when it
 * does not fit the context with room for one new token.
 */
function encodePrompt(tok: BpeTokenizer, codec: TextCodec | undefined, text: string, max: number) {
  const ids = codec ? codec.prompt(text) : tok.encode(text);
  return ids.slice(Math.max(0, ids.length - max));
}

/** Completions of `texts`, batch by batch, from the checkpoint's model. */
async function sampleAll(ck: Checkpoint, texts: readonly string[], o: GenerateFlags) {
  const rows: { prompt: string; completion: string; finish: "stop" | "length" }[] = [];
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
  // keel's layout also stops at <|eos|>; with any other tokenizer the completion runs to the limit.
  const codec = TextCodec.of(tok);
  const empty = codec ? -1 : texts.indexOf("");
  if (empty >= 0) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `prompt ${empty + 1} is empty: there is nothing to continue`,
      {
        hint: "give every prompt some text (this tokenizer has no <|sep|> to start an answer from)",
      },
    );
  }
  const context = ck.model.config.context;
  const progress = new Progress({
    label: "generate",
    unit: "prompts",
    total: texts.length,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  // Batches of --batch-size. The first batch samples with --seed itself (so up to a batch of
  // prompts sample as they always did); each later one with a seed derived from --seed and its
  // start, so batches do not repeat each other's draws. Greedy decoding ignores the seed.
  for (let at = 0; at < texts.length; at += o.batchSize) {
    const part = texts.slice(at, at + o.batchSize);
    const g = await generate(
      ck.model,
      part.map((p) => encodePrompt(tok, codec, p, context - 1)),
      {
        maxNewTokens: o.maxNewTokens,
        temperature: o.temperature,
        ...(o.topK !== undefined ? { topK: o.topK } : {}),
        ...(o.topP !== undefined ? { topP: o.topP } : {}),
        ...(codec ? { stopTokens: [codec.eosId] } : {}),
        // a model's vocabulary may be larger than its tokenizer's, which has no text for the rest
        textVocab: Math.min(tok.vocabSize, ck.model.config.vocab),
        seed: at === 0 ? o.seed : `${o.seed}/from-${at}`,
      },
    );
    for (const [i, p] of part.entries()) {
      const ids = g.completions[i]!;
      rows.push({
        prompt: p,
        completion: codec ? codec.decodeResponse(ids) : tok.decode(ids),
        finish: g.finish[i]!,
      });
    }
    progress.update(rows.length);
  }
  progress.finish();
  return { rows, codec };
}

export async function runGenerate(o: GenerateFlags): Promise<void> {
  if (o.split !== undefined && o.prompts === undefined)
    throw new KeelError("KEEL_E_USAGE", "--split selects rows of --prompts FILE; give --prompts");
  const texts = [
    ...o.prompt,
    ...(o.prompts ? await readPromptFile(o.prompts, { split: o.split }) : []),
  ];
  if (texts.length === 0)
    throw new KeelError("KEEL_E_USAGE", "no prompts: give --prompt TEXT or --prompts FILE");
  checkOutputFiles(o.out);
  if (o.out !== undefined && o.out !== "-") resolveOutputTarget(o.out, generateProtects(o));
  checkPolicy(o.checkpoint);
  const ck = loadCheckpoint(o.checkpoint);
  // Released however sampling ends: a long-lived program that runs this must not keep the
  // model's sessions (and any worker-thread replicas) after an error.
  let sampled: Awaited<ReturnType<typeof sampleAll>>;
  try {
    sampled = await sampleAll(ck, texts, o);
  } finally {
    await ck.model.dispose();
  }
  const { rows, codec } = sampled;
  if (o.out !== undefined) await writeJsonlFile(o.out, rows, { protect: generateProtects(o) });
  // With --out -, standard output carries the completions: the rest goes to standard error.
  const say = summaryPrinter(o.out);
  if (o.json) say(JSON.stringify(rows, null, 2));
  else if (o.out !== undefined) {
    if (!o.quiet) say(`wrote ${o.out} (${rows.length} completions)`);
  } else {
    // Model text and prompts are anyone's: a byte-level model writes ESC as readily as "a".
    for (const r of rows) {
      const text = codec ? `${r.prompt}\n→ ${r.completion}` : `${r.prompt}${r.completion}`;
      printLine(printable(text));
    }
  }
}
