/**
 * bench:train-memory — what a reward model's training set costs in memory per pair.
 *
 * Writes N seeded preference pairs (keel's TRL rows: a 10–27-word prompt, two responses of
 * 30–120 words, about 1 KB a row) and a 1,024-id tokenizer trained on the first 2,000, then
 * measures, each in a fresh process:
 *   - read: the file read by `readPairs` alone — the heap of the raw pairs, and the peak RSS of
 *     a process that only reads (the reference for the end-to-end run);
 *   - legacy: the pairs encoded as the trainers held them before 2026-12-07 — EncodedPair[]
 *     with number[] rows, the raw pairs kept, and the codec's memo of every text's full
 *     encoding (up to 200,000 texts), reproduced here line for line from the old encodePairs;
 *   - packed: the pairs encoded into a PairTable (src/train/rm/pairTable.ts), the raw pairs
 *     dropped: what `keel train rm` now holds through training;
 *   - train: `keel train rm` (the source CLI) for 3 steps of a tiny model (d 32, 1 layer,
 *     context 128), peak RSS from /usr/bin/time.
 * Heap is V8's used heap plus typed-array buffers after two forced collections, less the same
 * figure before reading. The packed child also checks that its rows equal the legacy rows on the
 * first 2,000 pairs, so the comparison is of the same data.
 *
 *   npm run bench:train-memory              # 50,000, 100,000 and 200,000 pairs
 *   npm run bench:train-memory -- --quick   # 20,000 pairs
 *   options: --n N (one size), --no-train (skip the end-to-end runs), --keep
 *
 * Writes bench/results/train-memory.json (train-memory.quick.json with --quick).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/core/rng.js";
import type { PreferencePair } from "../src/core/types.js";
import { type BenchRow, benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const SELF = fileURLToPath(import.meta.url);
const SEQ_LEN = 128;

const cli = benchArgs("train-memory", process.argv.slice(2), {
  flags: ["--no-train", "--keep"],
  options: ["--n", "--child", "--file", "--tokenizer"],
});

/** Seeded pairs, one JSON row a line: words from a 3,000-word vocabulary, Zipf-like. */
async function writePairs(file: string, n: number): Promise<void> {
  const rng = new Rng(7);
  const syll = ["ka", "lo", "mi", "ter", "an", "sen", "dor", "vi", "pe", "ru"];
  const more = ["sta", "gel", "on", "ix", "bra", "ne", "tu", "mar", "sol", "qui"];
  const parts = [...syll, ...more];
  const vocab = Array.from({ length: 3000 }, () =>
    Array.from({ length: 1 + rng.int(3) }, () => parts[rng.int(parts.length)]).join(""),
  );
  const words = (lo: number, hi: number) =>
    `${Array.from(
      { length: lo + rng.int(hi - lo + 1) },
      () => vocab[Math.floor(vocab.length * rng.float() ** 2)],
    ).join(" ")}.`;
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    const row = { prompt: `Question ${i}: ${words(8, 25)}`, chosen: words(30, 120) };
    const line = `${JSON.stringify({ ...row, rejected: words(30, 120) })}\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => {
    out.on("error", reject);
    out.end(() => resolve());
  });
}

// ---- children: each measures one representation in a fresh heap ----------------------------

const gc = (globalThis as { gc?: () => void }).gc;

function heapNow(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * The old encodePairs (before PairTable), kept to measure what it held; the codec is returned
 * with the rows because the old trainer kept it, with its memo, through the member's training.
 */
async function legacyEncode(codecFile: string, pairs: readonly PreferencePair[]) {
  const { tokenizerFromFile } = await import("../src/train/common/model.js");
  const codec = tokenizerFromFile(codecFile);
  const rows = pairs.map((p) => {
    const prompt = codec.prompt(p.prompt as string);
    const seq = (r: string) => {
      const f = codec.fit(prompt, codec.response(r), SEQ_LEN);
      return { tokens: [...f.prompt, ...f.response], prompt: f.prompt.length };
    };
    const c = seq(p.chosen as string);
    const r = seq(p.rejected as string);
    return {
      chosen: c.tokens,
      rejected: r.tokens,
      chosenPrompt: c.prompt,
      rejectedPrompt: r.prompt,
      weight: p.weight ?? 1,
      margin: p.margin ?? 0,
      chosenSign: 0,
      rejectedSign: 0,
    };
  });
  return { rows, codec };
}

async function child(mode: string, file: string, tokenizer: string): Promise<void> {
  if (mode === "train") {
    const { main } = await import("../src/cli/main.js");
    process.exitCode = await main(["node", "keel", "train", "rm", "--config", file, "--quiet"]);
    return;
  }
  const { readPairs } = await import("../src/cli/actions/pair-files.js");
  const { tokenizerFromFile } = await import("../src/train/common/model.js");
  const { RawPairSets } = await import("../src/train/rm/pairTable.js");
  tokenizerFromFile(tokenizer); // modules and the tokenizer's code warm before the baseline
  const h0 = heapNow();
  let pairs: PreferencePair[] | undefined = readPairs(file);
  const n = pairs.length;
  const t0 = performance.now();
  let held: unknown;
  if (mode === "legacy") held = await legacyEncode(tokenizer, pairs);
  else if (mode === "packed") {
    // As the trainers do: encoded in a synchronous call, so that no register of this async
    // function is left holding the raw pairs across its awaits.
    const raw = new RawPairSets({ train: pairs, eval: [] });
    pairs = undefined;
    const table = raw.encode(tokenizerFromFile(tokenizer), SEQ_LEN, {
      cost: false,
      drop: true,
    }).train;
    held = table;
    const bytes = heapNow() - h0;
    const legacy = await legacyEncode(tokenizer, readPairs(file).slice(0, 2000));
    const same = legacy.rows.every(
      (row, i) => JSON.stringify(row) === JSON.stringify(table.pair(i)),
    );
    if (!same) throw new Error("packed rows differ from the legacy rows");
    const out = {
      n,
      bytes,
      seconds: (performance.now() - t0) / 1000,
      tableBytes: table.byteLength,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const seconds = (performance.now() - t0) / 1000;
  const bytes = heapNow() - h0;
  process.stdout.write(`${JSON.stringify({ n, bytes, seconds, held: held !== undefined })}\n`);
  void pairs;
}

// ---- the parent ------------------------------------------------------------------------------

interface Measured {
  n: number;
  bytes: number;
  seconds: number;
  rssMB: number;
  tableBytes?: number;
}

function run(mode: string, file: string, tokenizer: string): Measured {
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "TIME %M",
      process.execPath,
      "--expose-gc",
      "--import",
      "tsx",
      SELF,
      "--child",
      mode,
      "--file",
      file,
      "--tokenizer",
      tokenizer,
    ],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 },
  );
  const m = /TIME (\d+)\s*$/.exec(r.stderr ?? "");
  if (r.status !== 0 || !m) throw new Error(`${mode} ${file} failed (${r.status}):\n${r.stderr}`);
  const rssMB = Number(m[1]) / 1024;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return mode === "train" ? { n: 0, bytes: 0, seconds: 0, rssMB } : { ...JSON.parse(line), rssMB };
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  const sizes = cli.has("--n")
    ? [cli.int("--n", 0)]
    : cli.quick
      ? [20_000]
      : [50_000, 100_000, 200_000];
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-train-memory-"));
  const records: BenchRow[] = [];
  const table: string[][] = [];
  try {
    const tokenizer = join(dir, "tokenizer.json");
    for (const n of sizes) {
      const file = join(dir, `pairs-${n}.jsonl`);
      await writePairs(file, n);
      if (n === sizes[0]) await trainTokenizerFile(file, tokenizer);
      const read = run("read", file, tokenizer);
      const legacy = run("legacy", file, tokenizer);
      const packed = run("packed", file, tokenizer);
      const config = `${n} pairs, 30–120-word responses, seq_len ${SEQ_LEN}`;
      const perPair = (x: Measured) => x.bytes / n;
      records.push(
        {
          config,
          metric: "heap held per pair through training",
          unit: "B/pair",
          keel: perPair(packed),
          reference: perPair(legacy),
          reference_name:
            "EncodedPair[] number[] rows + raw pairs + codec memo (before 2026-12-07)",
          ratio: perPair(legacy) / perPair(packed),
        },
        {
          config,
          metric: "raw pairs as read (readPairs)",
          unit: "B/pair",
          keel: perPair(read),
        },
        {
          config,
          metric: "encode time",
          unit: "s",
          keel: packed.seconds,
          reference: legacy.seconds,
          reference_name: "the old encodePairs",
          ratio: legacy.seconds / packed.seconds,
        },
      );
      let trainRss: number | undefined;
      if (!cli.has("--no-train")) {
        const cfg = join(dir, `rm-${n}.yaml`);
        writeFileSync(cfg, trainConfig(file, tokenizer, join(dir, `out-${n}`)));
        trainRss = run("train", cfg, tokenizer).rssMB;
        records.push({
          config,
          metric: "peak RSS of keel train rm (3 steps, d 32)",
          unit: "MB",
          keel: trainRss,
          reference: read.rssMB,
          reference_name: "a process that only reads the file (readPairs)",
          ratio: read.rssMB / trainRss,
        });
      }
      table.push([
        String(n),
        perPair(read).toFixed(0),
        perPair(legacy).toFixed(0),
        perPair(packed).toFixed(0),
        (perPair(legacy) / perPair(packed)).toFixed(1),
        `${legacy.seconds.toFixed(1)} / ${packed.seconds.toFixed(1)}`,
        read.rssMB.toFixed(0),
        trainRss === undefined ? "-" : trainRss.toFixed(0),
      ]);
    }
  } finally {
    if (!cli.has("--keep")) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
  const header = [
    "pairs",
    "raw B/pair",
    "legacy B/pair",
    "packed B/pair",
    "legacy/packed",
    "encode s (legacy / packed)",
    "read-only RSS MB",
    "train RSS MB",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table) console.log(line(r));
  records.push({
    config: "machine",
    metric: "load average (1 min) before / after the run",
    unit: "",
    keel: load,
    reference: loadavg()[0]!,
    reference_name: "after",
  });
  console.log(`load average ${load.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
  const outDir = join(HERE, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, resultFile("train-memory", cli)),
    `${JSON.stringify(records, null, 2)}\n`,
  );
}

async function trainTokenizerFile(pairsFile: string, out: string): Promise<void> {
  const { readPairs } = await import("../src/cli/actions/pair-files.js");
  const { trainTokenizer } = await import("../src/train/common/codec.js");
  const rows = readPairs(pairsFile).slice(0, 2000);
  const texts = rows.flatMap((r) => [r.prompt, r.chosen, r.rejected] as string[]);
  writeFileSync(out, JSON.stringify(trainTokenizer(texts, 1024).toJSON()));
}

function trainConfig(file: string, tokenizer: string, out: string): string {
  return [
    `out: ${JSON.stringify(out)}`,
    `data: { train: ${JSON.stringify(file)} }`,
    "seed: 1",
    `model: { arch: { d_model: 32, layers: 1, heads: 2, context: ${SEQ_LEN} }, tokenizer: { file: ${JSON.stringify(tokenizer)} } }`,
    "train: { steps: 3, batch_size: 8 }",
    "run: { log_every: 1 }",
    "",
  ].join("\n");
}

const mode = cli.text("--child");
if (mode !== undefined) await child(mode, cli.text("--file")!, cli.text("--tokenizer") ?? "");
else await main();
