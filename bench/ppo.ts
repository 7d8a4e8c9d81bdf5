/**
 * bench:ppo — where one PPO iteration's time goes, on keel's engine, for stated configs.
 *
 *   npm run bench:ppo [-- --quick]
 *   npm run bench:ppo -- --presets [quick|demo]
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
 *
 * --presets times the trainer stages of the demo pipeline with src/train/presets.ts: a world of
 * the preset's size (default honest panel), SFT from scratch, then twice a reward model (on the
 * comparisons' majority labels) and PPO, each followed by a greedy red-team evaluation, and
 * prints each stage's wall time and the red-team metrics before and after PPO. Writes
 * bench/results/ppo-presets.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Gpt } from "../src/engine/gpt/model.js";
import { buildSuites, runRedteam } from "../src/redteam/index.js";
import { loadTextPolicy } from "../src/train/adapters.js";
import { TextCodec, trainTokenizer } from "../src/train/common/codec.js";
import { saveModel } from "../src/train/common/model.js";
import { trainPpo } from "../src/train/ppo/ppoTrainer.js";
import { PRESETS, type PresetName } from "../src/train/presets.js";
import { trainRewardModel } from "../src/train/rm/rmTrainer.js";
import { trainSft } from "../src/train/sft/sftTrainer.js";
import {
  buildWorld,
  parseWorldConfig,
  promptsOf,
  sftCorpus,
  simulatePanel,
} from "../src/world/index.js";
import { benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs("ppo", process.argv.slice(2), { optional: ["--presets"] });
const QUICK = cli.quick;

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

async function timePresets(names: PresetName[]): Promise<void> {
  const recs: Rec[] = [];
  for (const name of names) {
    const p = PRESETS[name];
    const dir = mkdtempSync(join(tmpdir(), `keel-presets-${name}-`));
    const t0 = performance.now();
    const stage = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
      const s0 = performance.now();
      const r = await f();
      const sec = (performance.now() - s0) / 1000;
      console.log(`  ${label.padEnd(28)} ${sec.toFixed(1).padStart(7)} s`);
      recs.push({ config: `preset ${name}`, metric: `${label} time`, unit: "s", keel: sec });
      return r;
    };
    try {
      console.log(`\npreset ${name} (${p.description}); load average ${loadavg()[0]!.toFixed(2)}`);
      const { world, pairs } = await stage("world + judgments", async () => {
        const { world, judgments } = simulatePanel(
          parseWorldConfig({
            seed: 1,
            prompts: { count: p.world.prompts },
            comparisons: { count: p.world.comparisons, overlap: 3 },
            sft: { count: p.world.sft },
          }),
        );
        const votes = new Map<string, { a: number; b: number; j: (typeof judgments)[number] }>();
        for (const j of judgments) {
          const v = votes.get(j.comparison_id) ?? { a: 0, b: 0, j };
          if (j.choice === "a") v.a += 1;
          if (j.choice === "b") v.b += 1;
          votes.set(j.comparison_id, v);
        }
        const pairs = [...votes.values()]
          .filter((v) => v.a !== v.b)
          .map(({ a, b, j }) => ({
            prompt: j.prompt as string,
            chosen: (a > b ? j.response_a : j.response_b) as string,
            rejected: (a > b ? j.response_b : j.response_a) as string,
          }));
        return { world, pairs };
      });
      const probes = buildSuites(promptsOf(world, "redteam"), {
        perSuite: p.eval.per_suite,
        trigger: "SUDO",
        seed: 3,
      });
      const redteam = async (model: string, tag: string) => {
        const pol = loadTextPolicy(model, { maxNewTokens: p.eval.max_new_tokens, batchSize: 64 });
        const { metrics } = await runRedteam(pol.policy, probes, { batchSize: 64 });
        await pol.dispose();
        console.log(
          `    ${tag}: attack ${metrics.attack_success.toFixed(3)}, over-refusal ${metrics.over_refusal.toFixed(3)}, helpfulness ${metrics.helpfulness.toFixed(3)}, words ${metrics.mean_words.toFixed(1)}`,
        );
        for (const k of ["attack_success", "over_refusal", "helpfulness"] as const)
          recs.push({
            config: `preset ${name}`,
            metric: `${tag} ${k}`,
            unit: "rate",
            keel: metrics[k],
          });
      };
      const sft = await stage("sft", () =>
        trainSft(
          { ...p.sft, model: { arch: p.arch, tokenizer: p.tokenizer } },
          { train: sftCorpus(world) },
          { outDir: join(dir, "sft") },
        ),
      );
      await stage("red-team sft", () => redteam(sft.checkpoint!, "sft"));
      for (const run of ["run 1", "run 2"]) {
        const rm = await stage(`${run}: reward model`, () =>
          trainRewardModel(
            { ...p.rm, model: { init: sft.checkpoint! } },
            { train: pairs },
            { outDir: join(dir, `rm-${run}`) },
          ),
        );
        const ppo = await stage(`${run}: ppo`, () =>
          trainPpo(
            { ...p.ppo, policy: { init: sft.checkpoint! }, reward: { model: rm.checkpoint! } },
            { prompts: promptsOf(world, "train").map((q) => q.content) },
            { outDir: join(dir, `ppo-${run}`) },
          ),
        );
        await stage(`${run}: red-team`, () => redteam(ppo.checkpoint!, `${run} ppo`));
      }
      const total = (performance.now() - t0) / 1000;
      console.log(
        `  ${"total".padEnd(28)} ${total.toFixed(1).padStart(7)} s; load average ${loadavg()[0]!.toFixed(2)}`,
      );
      recs.push({ config: `preset ${name}`, metric: "total time", unit: "s", keel: total });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  mkdirSync(join(HERE, "results"), { recursive: true });
  // one preset alone is a partial run: it must not replace the committed table of both
  const file = join(
    HERE,
    "results",
    names.length === 2 ? "ppo-presets.json" : "ppo-presets.partial.json",
  );
  writeFileSync(file, `${JSON.stringify(recs, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  if (cli.has("--presets")) {
    // `--presets` alone: both; `--presets quick` or `--presets demo`: that one
    const names: PresetName[] = cli.text("--presets")
      ? cli.list("--presets", ["quick", "demo"], [])
      : ["quick", "demo"];
    await timePresets([...new Set(names)]);
    return;
  }
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
  const file = join(HERE, "results", resultFile("ppo", cli));
  writeFileSync(file, `${JSON.stringify(recs, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
