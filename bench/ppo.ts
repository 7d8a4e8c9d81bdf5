/**
 * bench:ppo — where one PPO iteration's time goes, on keel's engine, for stated configs.
 *
 *   npm run bench:ppo [-- --quick]
 *
 * Models: GPT policy (its value head is the critic), frozen reference and reward model, all of
 * the same size, freshly initialised from fixed seeds (timing does not depend on training; an
 * untrained policy never emits <|eos|>, so every response has exactly max_new_tokens tokens —
 * the worst case). Tokenizer: byte-level BPE trained on the synthetic world's SFT corpus;
 * prompts: the world's train-split prompts. One iteration = generation (KV cache, temperature
 * 1), scoring (reward model on the decoded texts), reference log-probs, update (old log-probs
 * and values from the training graph, then epochs × minibatches of clipped PPO with AdamW).
 * The first iteration (session creation, warm-up) is dropped; the median of the rest is shown.
 *
 * Reported per config: each phase's median seconds and share, the iteration's seconds,
 * generated tokens/s (new tokens / generation time) and processed tokens/s (all tokens in the
 * rollout batch / iteration time). Writes bench/results/ppo.json (ppo.quick.json with --quick).
 * No outside reference runs the same iteration here, so records carry keel's figures only.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Gpt } from "../src/engine/gpt/model.js";
import { TextCodec, trainTokenizer } from "../src/train/common/codec.js";
import { saveModel } from "../src/train/common/model.js";
import { trainPpo } from "../src/train/ppo/ppoTrainer.js";
import { buildWorld, parseWorldConfig, promptsOf, sftCorpus } from "../src/world/index.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes("--quick");

interface BenchConfig {
  readonly name: string;
  readonly arch: { dModel: number; layers: number; heads: number; context: number };
  readonly batch: number;
  readonly maxNew: number;
  readonly epochs: number;
  readonly minibatch: number;
  readonly iterations: number;
}

const CONFIGS: BenchConfig[] = QUICK
  ? [
      {
        name: "quick",
        arch: { dModel: 64, layers: 2, heads: 4, context: 128 },
        batch: 32,
        maxNew: 32,
        epochs: 2,
        minibatch: 16,
        iterations: 3,
      },
    ]
  : [
      {
        name: "quick preset",
        arch: { dModel: 64, layers: 2, heads: 4, context: 128 },
        batch: 32,
        maxNew: 32,
        epochs: 2,
        minibatch: 16,
        iterations: 5,
      },
      {
        name: "demo preset",
        arch: { dModel: 128, layers: 2, heads: 4, context: 128 },
        batch: 64,
        maxNew: 40,
        epochs: 2,
        minibatch: 16,
        iterations: 5,
      },
    ];

const PHASES = [
  ["generation", "t_generation_s"],
  ["scoring", "t_scoring_s"],
  ["reference", "t_reference_s"],
  ["update", "t_update_s"],
] as const;

interface Rec {
  config: string;
  metric: string;
  unit: string;
  keel: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runConfig(c: BenchConfig, codec: TextCodec, prompts: string[]): Promise<Rec[]> {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-ppo-"));
  try {
    const arch = { vocab: codec.vocabSize, ...c.arch };
    const policy = new Gpt(arch, { seed: 1 });
    saveModel(join(dir, "policy"), policy, codec);
    const rm = new Gpt(arch, { seed: 2 });
    saveModel(join(dir, "rm"), rm, codec);
    await policy.dispose();
    await rm.dispose();
    const res = await trainPpo(
      {
        seed: 1,
        policy: { init: join(dir, "policy") },
        reward: { model: join(dir, "rm") },
        rollout: { batch_size: c.batch, max_new_tokens: c.maxNew },
        ppo: { iterations: c.iterations, epochs: c.epochs, minibatch_size: c.minibatch },
        optim: { lr: 1e-5 },
        run: { log_every: 1 },
      },
      { prompts },
      { outDir: join(dir, "run") },
    );
    const rows = readFileSync(join(dir, "run", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number | string>)
      .filter((r) => r.type === "train")
      .slice(1);
    const col = (k: string) => rows.map((r) => Number(r[k]));
    const label = `${c.name}: L${c.arch.layers} d${c.arch.dModel} h${c.arch.heads} ctx${c.arch.context} V${codec.vocabSize}, B${c.batch} x ${c.maxNew} new, ${c.epochs} epochs x ${c.batch / c.minibatch} minibatches`;
    const phase = PHASES.map(([name, key]) => ({ name, s: median(col(key)) }));
    const total = median(rows.map((r) => PHASES.reduce((a, [, k]) => a + Number(r[k]), 0)));
    const genTokens = median(col("response_len")) * c.batch;
    const out: Rec[] = [];
    console.log(
      `\n${label}  (${rows.length} timed iterations, ${res.seconds.toFixed(1)} s in all)`,
    );
    console.log(`${"phase".padEnd(12)} ${"median s".padStart(9)} ${"share".padStart(7)}`);
    for (const p of phase) {
      console.log(
        `${p.name.padEnd(12)} ${p.s.toFixed(3).padStart(9)} ${`${((100 * p.s) / total).toFixed(1)}%`.padStart(7)}`,
      );
      out.push({ config: label, metric: `${p.name} time (median)`, unit: "s", keel: p.s });
      out.push({ config: label, metric: `${p.name} share`, unit: "%", keel: (100 * p.s) / total });
    }
    console.log(`${"iteration".padEnd(12)} ${total.toFixed(3).padStart(9)}`);
    const genTps = genTokens / phase[0]!.s;
    const seqTokens =
      median(col("response_len")) * c.batch +
      c.batch * meanPromptTokens(codec, prompts, c.maxNew, arch.context);
    const allTps = seqTokens / total;
    console.log(
      `generated tokens/s ${genTps.toFixed(0)}   processed tokens/s ${allTps.toFixed(0)}`,
    );
    out.push({ config: label, metric: "iteration time (median)", unit: "s", keel: total });
    out.push({ config: label, metric: "generation throughput", unit: "tokens/s", keel: genTps });
    out.push({
      config: label,
      metric: "iteration throughput (prompt + response tokens)",
      unit: "tokens/s",
      keel: allTps,
    });
    out.push({
      config: label,
      metric: "max |log p(generation) − log p(training graph)|",
      unit: "nats",
      keel: Math.max(...col("logprob_mismatch_max")),
    });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function meanPromptTokens(
  codec: TextCodec,
  prompts: readonly string[],
  maxNew: number,
  context: number,
): number {
  const k = Math.min(prompts.length, 500);
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.min(codec.prompt(prompts[i]!).length, context - maxNew);
  return s / k;
}

async function main(): Promise<void> {
  const world = buildWorld(
    parseWorldConfig({ seed: 1, prompts: { count: 4000 }, sft: { count: 4000 } }),
    1,
  );
  const codec = new TextCodec(
    trainTokenizer(
      sftCorpus(world).flatMap((r) => [r.prompt, r.completion]),
      1024,
    ),
  );
  const prompts = promptsOf(world, "train").map((p) => p.content);
  console.log(
    `bench:ppo — ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at start; ONNX Runtime threads: ${process.env.KEEL_THREADS ?? "all cores"}`,
  );
  const recs: Rec[] = [];
  for (const c of CONFIGS) recs.push(...(await runConfig(c, codec, prompts)));
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at end`);
  mkdirSync(join(HERE, "results"), { recursive: true });
  const file = join(HERE, "results", QUICK ? "ppo.quick.json" : "ppo.json");
  writeFileSync(file, `${JSON.stringify(recs, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
