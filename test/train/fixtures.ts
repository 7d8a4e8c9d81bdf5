/** Tiny models and data for the trainer tests (seconds, not minutes). */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gpt } from "../../src/engine/gpt/model.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { saveModel } from "../../src/train/common/model.js";

export const LETTERS = ["A", "B", "C", "D"] as const;

export const CORPUS = [
  "pick one",
  "say yes",
  "the sky is blue",
  "grass is green",
  "A",
  "B",
  "C",
  "D",
  "yes",
  "no",
];

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `keel-${prefix}-`));
}

export function tinyCodec(): TextCodec {
  return new TextCodec(trainTokenizer(CORPUS, 270));
}

export const TINY_ARCH = { dModel: 16, layers: 1, heads: 2, context: 24 } as const;

/** A new tiny model saved with its tokenizer; returns the checkpoint dir. */
export function tinyCheckpoint(
  dir: string,
  seed = 1,
  dtype: "float32" | "float64" = "float32",
): string {
  const codec = tinyCodec();
  const model = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH, dtype }, { seed, threads: 1 });
  saveModel(dir, model, codec);
  void model.dispose();
  return dir;
}

export function paramsSnapshot(m: Gpt): Map<string, Float64Array> {
  return new Map(m.params.names.map((n) => [n, Float64Array.from(m.params.view(n))]));
}

/** Names of parameters whose values differ between two snapshots. */
export function changed(a: Map<string, Float64Array>, b: Map<string, Float64Array>): string[] {
  return [...a.keys()].filter((n) => {
    const x = a.get(n)!;
    const y = b.get(n)!;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return true;
    return false;
  });
}

/** Timing fields of a metrics record: the only ones a resumed run may change. */
const TIMING = /^(t_.*|.*_per_s|wall_s)$/;

/** A metrics record without its timing fields. */
export const untimed = (m: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !TIMING.test(k)));

/** `dir`'s metrics.jsonl, each record without its timing fields, as JSON (key order kept). */
export const untimedLines = (dir: string): string[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.stringify(untimed(JSON.parse(l))));
