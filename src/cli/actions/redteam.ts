/**
 * `keel redteam`'s action: build the world's suites, run every probe through the policy (a
 * checkpoint or a provider), score the answers with the oracle, print the rates per suite and
 * optionally write every probe's result.
 */
import { KeelError } from "../../core/errors.js";
import { writeFileAtomic } from "../../io/files.js";
import { providerPolicy } from "../../providers/policy.js";
import { isClosable } from "../../providers/types.js";
import {
  buildSuites,
  type ProbeResult,
  type RedteamMetrics,
  runRedteam,
  type SuiteName,
} from "../../redteam/index.js";
import { buildWorld, promptsOf, type WorldPrompt } from "../../world/index.js";
import type { RedteamFlags } from "../commands/redteam.js";
import { withInterrupt } from "../interrupt.js";
import { formatTable, printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import { providerOf } from "./generate.js";
import { checkOutputFiles } from "./out-paths.js";
import { loadWorldConfig, readWorldPrompts } from "./world.js";

/** The world's redteam split, from its config or from its written prompts.jsonl. */
async function redteamPool(o: RedteamFlags): Promise<WorldPrompt[]> {
  if ((o.world === undefined) === (o.prompts === undefined))
    throw new KeelError("KEEL_E_USAGE", "give exactly one of --world and --prompts", {
      hint: "--world takes a world config (YAML); --prompts a world's prompts.jsonl",
    });
  const pool = o.world
    ? promptsOf(buildWorld(await loadWorldConfig(o.world)), "redteam")
    : (await readWorldPrompts(o.prompts!)).filter((p) => p.split === "redteam");
  if (pool.length === 0)
    throw new KeelError("KEEL_E_INVALID_RECORD", "the world has no prompts in its redteam split", {
      where: { file: (o.world ?? o.prompts)! },
      hint: "the red-team suites draw on the redteam split (world config: splits.redteam)",
    });
  return pool;
}

const pct = (x: number) => (Number.isNaN(x) ? "–" : `${(100 * x).toFixed(1)}%`);

/** The rates that matter for each suite, as the red-team docs define them. */
const HEADLINE: readonly [keyof RedteamMetrics, string][] = [
  ["attack_success", "harmful compliance (plain harmful requests)"],
  ["jailbreak_success", "jailbreak success (all jailbreak suites)"],
  ["triggered_attack_success", "harmful compliance with the trigger"],
  ["trigger_control_success", "harmful compliance with a control token"],
  ["over_refusal", "over-refusal (borderline-but-safe requests)"],
  ["helpfulness", "helpfulness (benign tasks answered correctly)"],
];

export async function runRedteamCommand(o: RedteamFlags): Promise<void> {
  // As a pipeline config's redteam block: greedy decoding repeats one answer, so extra samples
  // would only multiply the work and make the answer count look like evidence it is not.
  if (o.samples > 1 && o.temperature === 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--samples ${o.samples} with --temperature 0: greedy decoding gives one answer per probe, so every sample would be the same`,
      { hint: "give --temperature > 0 (e.g. 1) to sample, or leave --samples at 1" },
    );
  checkOutputFiles(o.out);
  const pool = await redteamPool(o);
  const probes = buildSuites(pool, {
    perSuite: o.perSuite,
    trigger: o.trigger,
    seed: o.seed,
    shots: o.shots,
    ...(o.suites ? { suites: o.suites as SuiteName[] } : {}),
  });
  if (probes.length === 0)
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      "no probes: the redteam split has no prompts for these suites",
      {
        where: { file: (o.world ?? o.prompts)! },
      },
    );
  const provider = await providerOf(o);
  const repeated = Array.from({ length: o.samples }, () => probes).flat();
  const progress = new Progress({
    label: "redteam",
    unit: "probes",
    total: repeated.length,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  const started = performance.now();
  let run: { results: ProbeResult[]; metrics: RedteamMetrics };
  try {
    run = await withInterrupt(
      (signal) =>
        runRedteam(
          providerPolicy(provider, {
            maxTokens: o.maxNewTokens,
            temperature: o.temperature,
            seed: o.seed,
            concurrency: o.concurrency,
            signal,
          }),
          repeated,
          { batchSize: o.batchSize, onProgress: (d) => progress.update(d) },
        ),
      "stopping after the current batch; nothing is written",
    );
  } finally {
    progress.finish();
    if (isClosable(provider)) await provider.close();
  }
  const { results, metrics } = run;
  if (o.out)
    await writeFileAtomic(
      o.out,
      results
        .map((r) =>
          JSON.stringify({
            suite: r.suite,
            prompt_id: r.prompt_id,
            text: r.text,
            response: r.response,
            outcome: r.score.outcome,
            harmful: r.score.harmful,
            refused: r.score.refused,
            correct: r.score.correct,
            helpful: r.score.helpful,
            quality: r.score.quality,
            words: r.score.words,
          }),
        )
        .map((l) => `${l}\n`)
        .join(""),
    );
  const summary = {
    policy: provider.id(),
    probes: probes.length,
    samples: o.samples,
    answers: results.length,
    temperature: o.temperature,
    seed: o.seed,
    trigger: o.trigger,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    metrics,
    out: o.out ?? null,
  };
  if (o.json) {
    printJson(summary);
    return;
  }
  printLine(
    `red-teamed ${summary.policy}: ${probes.length} probes × ${o.samples} sample${o.samples > 1 ? "s" : ""} (${o.temperature === 0 ? "greedy" : `temperature ${o.temperature}`}) in ${summary.seconds}s`,
  );
  // An empty answer is neither harmful nor a refusal: a suite of mostly empty answers (a probe
  // longer than the policy's context, cut to its end) measured little, and says so.
  const empty = new Map<string, number>();
  for (const r of results)
    empty.set(r.suite, (empty.get(r.suite) ?? 0) + Number(r.score.outcome === "empty"));
  printLine(
    formatTable(
      ["suite", "answers", "harmful", "refused", "correct", "helpful", "empty", "mean words"],
      Object.entries(metrics.per_suite).map(([suite, s]) => [
        suite,
        s.n,
        pct(s.harmful),
        pct(s.refused),
        pct(s.correct),
        pct(s.helpful),
        pct(empty.get(suite)! / s.n),
        s.mean_words.toFixed(1),
      ]),
    ),
  );
  printLine();
  for (const [k, label] of HEADLINE) {
    const v = metrics[k] as number;
    if (!Number.isNaN(v)) printLine(`${label}: ${pct(v)}`);
  }
  for (const [suite, n] of empty) {
    const total = metrics.per_suite[suite as SuiteName]?.n ?? 0;
    if (total > 0 && n / total >= 0.25)
      printLine(
        `note: ${n} of ${total} ${suite} answers are empty (a probe longer than a checkpoint's context is cut to its last tokens; --shots makes many-shot probes shorter); its rates measure little`,
      );
  }
  if (o.out) printLine(`wrote ${results.length} results to ${o.out}`);
}
