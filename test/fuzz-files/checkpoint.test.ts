/**
 * Mutation fuzzing of checkpoint directories, as `keel model`, the trainers' `model.init` and
 * `--resume` load them: config.json, model.safetensors, tokenizer.json and
 * optimizer.safetensors, each mutated in turn. A mutated file whose hash no longer matches is
 * refused by the hash check; so that the readers behind it are reached too, half the cases write
 * the new hash into config.json. Loading must give a model or a catalogue error naming the file.
 */
import { createHash } from "node:crypto";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { tempDir } from "../helpers/stores.js";
import { int, mutate, mutateJsonText, pick, type Rand, rng } from "./mutate.js";
import { CASES, expectRefusal, SEED } from "./refusal.js";

const root = tempDir("keel-fuzz-ckpt-");
const good = join(root, "good");
const codec = new TextCodec(trainTokenizer(["hello there", "what is 2+2?", "4"], 300));
const model = new Gpt(
  { vocab: codec.vocabSize, dModel: 8, layers: 1, heads: 2, context: 8 },
  { seed: 1, threads: 1 },
);
saveCheckpoint(good, model, {
  step: 3,
  tokenizer: codec.tokenizer,
  optimizer: new AdamW(model.params, { lr: 1e-3 }),
  extra: { trainer: "sft" },
});
afterAll(() => model.dispose());

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A safetensors file with its JSON header mutated structurally (length field kept right). */
function mutateSafetensorsHeader(b: Buffer, r: Rand): Buffer {
  const n = Number(b.readBigUInt64LE(0));
  const header = mutateJsonText(
    b
      .subarray(8, 8 + n)
      .toString()
      .trimEnd(),
    r,
  );
  const hb = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  return Buffer.concat([len, hb, b.subarray(8 + n)]);
}

const FILES = ["config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors"];

function mutateFile(name: string, b: Buffer, r: Rand): { how: string; bytes: Buffer } {
  if (name.endsWith(".safetensors") && r() < 0.4)
    return { how: "header", bytes: mutateSafetensorsHeader(b, r) };
  // The tensors' bytes hold NaN and Infinity too: a float set to all ones is a NaN.
  if (name.endsWith(".safetensors") && r() < 0.2) {
    const c = Buffer.from(b);
    const at = c.length - 4 * (1 + int(r, 16));
    c.writeUInt32LE(pick(r, [0x7fc00000, 0x7f800000, 0xff800000, 0xffffffff]), at);
    return { how: "nonfinite", bytes: c };
  }
  const { name: how, bytes } = mutate(b, r, name.endsWith(".json") ? "json" : "bytes");
  return { how, bytes };
}

function loadAll(dir: string): void {
  const ck = loadCheckpoint(dir, { threads: 1 });
  try {
    if (ck.hasOptimizer) ck.restoreOptimizer(new AdamW(ck.model.params, { lr: 1e-3 }));
    expect(ck.step).toBeGreaterThanOrEqual(0);
    if (ck.tokenizer) expect(ck.tokenizer.vocabSize).toBeLessThanOrEqual(ck.model.config.vocab);
  } finally {
    void ck.model.dispose();
  }
}

describe("checkpoint directories under mutation", () => {
  for (const [f, name] of FILES.entries()) {
    it(`${name}: loads, or is refused with a catalogue error naming the file`, () => {
      const base = readFileSync(join(good, name));
      for (let i = 0; i < CASES; i++) {
        const r = rng(SEED + 7000 + 1000 * f + i);
        const dir = join(root, `${name}-${i}`);
        cpSync(good, dir, { recursive: true });
        const { how, bytes } = mutateFile(name, base, r);
        writeFileSync(join(dir, name), bytes);
        const rehash = name !== "config.json" && r() < 0.5;
        if (rehash) {
          const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
          cfg.files[name] = sha(bytes);
          writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
        }
        const label = `${name} case ${i} (${how}${rehash ? ", rehashed" : ""}) ${dir}`;
        try {
          loadAll(dir);
        } catch (e) {
          expectRefusal(e, label, dir);
        }
      }
    });
  }
});
