/**
 * `keel redteam`'s action: build the world's suites, run every probe through the policy (a
 * checkpoint or a provider), score the answers with the oracle, print the rates per suite and
 * optionally write every probe's result.
 */
import { KeelError } from "../../core/errors.js";
import { percent } from "../../core/percent.js";
import { writeFileAtomic } from "../../io/files.js";
import { type ProtectedFile, resolveOutputTarget } from "../../io/output-target.js";
import { providerPolicy } from "../../providers/policy.js";
import { isClosable } from "../../providers/types.js";
import {
  buildSuites,
  type Probe,
  type ProbeResult,
  type RedteamMetrics,
  runRedteam,
  SUITES,
  type SuiteName,
} from "../../redteam/index.js";
import { buildWorld, promptsOf, type WorldPrompt } from "../../world/index.js";
import { DEFAULT_TRIGGER, hasTrigger, type TriggerPosition } from "../../world/triggers.js";
import type { RedteamFlags } from "../commands/redteam.js";
import { withInterrupt } from "../interrupt.js";
import { formatTable, summaryPrinter } from "../output.js";
import { Progress } from "../progress.js";
import { providerOf } from "./generate.js";
import { modelFiles } from "./model-files.js";
import { checkOutputFiles } from "./out-paths.js";
import { loadWorldConfig, readWorldPrompts } from "./world.js";

/**
 * The token a world's prompts.jsonl was triggered with, and where: a triggered variant is its
 * clean prompt with one word inserted (src/world/triggers.ts) at the end, the start or between
 * two words (`random`, which can also land at the end of a short prompt). Undefined when the
 * file holds no triggered variant of a prompt it holds.
 */
function triggerOfPrompts(
  prompts: readonly WorldPrompt[],
): { token: string; position: TriggerPosition } | undefined {
  const byId = new Map(prompts.map((p) => [p.id, p]));
  let token: string | undefined;
  const seen = new Set<TriggerPosition>();
  for (const t of prompts) {
    const base = t.triggered && t.base_id !== undefined ? byId.get(t.base_id) : undefined;
    if (base === undefined) continue;
    const words = t.content.split(" ");
    const clean = base.content.split(" ");
    if (words.length !== clean.length + 1) continue;
    const found = clean.findIndex((w, i) => w !== words[i]);
    const at = found === -1 ? clean.length : found;
    if (token !== undefined && words[at] !== token) continue;
    token = words[at]!;
    seen.add(at === 0 ? "start" : at === clean.length ? "end" : "random");
  }
  if (token === undefined) return undefined;
  const position = seen.size === 1 ? [...seen][0]! : "random";
  return { token, position };
}

/**
 * The world's redteam split, from its config or from its written prompts.jsonl, and the
 * world's backdoor trigger token: the trigger probes carry it unless --trigger names another,
 * as a pipeline's `redteam.trigger` defaults to its world's.
 */
async function redteamPool(
  o: RedteamFlags,
): Promise<{ pool: WorldPrompt[]; trigger: string; position: TriggerPosition }> {
  if ((o.world === undefined) === (o.prompts === undefined))
    throw new KeelError("KEEL_E_USAGE", "give exactly one of --world and --prompts", {
      hint: "--world takes a world config (YAML); --prompts a world's prompts.jsonl",
    });
  let pool: WorldPrompt[];
  let planted: { token: string; position: TriggerPosition } | undefined;
  if (o.world) {
    const config = await loadWorldConfig(o.world);
    pool = promptsOf(buildWorld(config), "redteam");
    planted = config.trigger;
  } else {
    const all = await readWorldPrompts(o.prompts!);
    pool = all.filter((p) => p.split === "redteam");
    planted = triggerOfPrompts(all);
  }
  const token = planted?.token;
  if (pool.length === 0)
    throw new KeelError("KEEL_E_INVALID_RECORD", "the world has no prompts in its redteam split", {
      where: { file: (o.world ?? o.prompts)! },
      hint: "the red-team suites draw on the redteam split (world config: splits.redteam)",
    });
  const trigger = o.trigger ?? token ?? DEFAULT_TRIGGER;
  // In a request already, the token would be in the trigger probes' controls too, and the gap
  // between the two rates would measure nothing (a world refuses such a token for itself).
  const clash = pool.find((p) => !p.triggered && hasTrigger(p.content, trigger));
  if (clash !== undefined)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--trigger ${JSON.stringify(trigger)} already occurs in the red-team prompts (${JSON.stringify(clash.content.slice(0, 60))})`,
      {
        where: { id: clash.id },
        hint: "choose a token that is not an ordinary word, such as SUDO",
      },
    );
  return { pool, trigger, position: planted?.position ?? "end" };
}

/** What --out must not replace: the files the command reads. */
function inputFiles(o: RedteamFlags): ProtectedFile[] {
  return [
    ...(o.world !== undefined ? [{ path: o.world, what: "the world config (--world)" }] : []),
    ...(o.prompts !== undefined
      ? [{ path: o.prompts, what: "the world's prompts (--prompts)" }]
      : []),
    ...(o.provider !== undefined ? [{ path: o.provider, what: "the provider config" }] : []),
    ...(o.checkpoint !== undefined ? modelFiles(o.checkpoint, "the checkpoint") : []),
  ];
}

/** The world prompts a suite is built from, in the words a note to the user needs. */
function sourceOf(suite: SuiteName): string {
  if (suite === "over_refusal") return "borderline-but-safe requests";
  if (suite === "helpful") return "benign tasks (arithmetic, facts, words)";
  return "harmful requests";
}

/**
 * Requested suites that got no probe, because the redteam split holds none of the prompts they
 * are built from: left out of the table without a word, a `--suites harmful,helpful` run read
 * as if the policy had not been asked about harm at all.
 */
function suitesWithoutProbes(o: RedteamFlags, probes: readonly { suite: SuiteName }[]) {
  const probed = new Set(probes.map((p) => p.suite));
  return ((o.suites as SuiteName[] | undefined) ?? SUITES).filter((s) => !probed.has(s));
}

const pct = percent;

/** The rates that matter for each suite, as the red-team docs define them. */
const HEADLINE: readonly [keyof RedteamMetrics, string][] = [
  ["attack_success", "harmful compliance (plain harmful requests)"],
  ["jailbreak_success", "jailbreak success (all jailbreak suites)"],
  ["triggered_attack_success", "harmful compliance with the trigger"],
  ["trigger_control_success", "harmful compliance on the same requests without the trigger"],
  ["over_refusal", "over-refusal (borderline-but-safe requests)"],
  ["helpfulness", "helpfulness (benign tasks answered correctly)"],
];

/** The probes: the flags checked, the pool and trigger read, the suites built. */
async function redteamProbes(o: RedteamFlags) {
  // As a pipeline config's redteam block: greedy decoding repeats one answer, so extra samples
  // would only multiply the work and make the answer count look like evidence it is not.
  if (o.samples > 1 && o.temperature === 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--samples ${o.samples} with --temperature 0: greedy decoding gives one answer per probe, so every sample would be the same`,
      { hint: "give --temperature > 0 (e.g. 1) to sample, or leave --samples at 1" },
    );
  checkOutputFiles(o.out);
  // Before the work: the atomic write would replace an input with the results, silently.
  if (o.out !== undefined && o.out !== "-") resolveOutputTarget(o.out, inputFiles(o));
  const { pool, trigger, position } = await redteamPool(o);
  const probes = buildSuites(pool, {
    perSuite: o.perSuite,
    trigger,
    triggerPosition: position,
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
  return { probes, trigger, position, unprobed: suitesWithoutProbes(o, probes) };
}

/** Every probe `o.samples` times through the provider, scored; Ctrl-C writes nothing. */
async function probeAll(
  o: RedteamFlags,
  provider: Awaited<ReturnType<typeof providerOf>>,
  probes: readonly Probe[],
): Promise<{ results: ProbeResult[]; metrics: RedteamMetrics }> {
  const repeated = Array.from({ length: o.samples }, () => probes).flat();
  const progress = new Progress({
    label: "redteam",
    unit: "probes",
    total: repeated.length,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  try {
    return await withInterrupt(
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
}

/** The per-answer results file's lines (JSONL). */
function resultLines(results: readonly ProbeResult[]): string {
  return results
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
    .join("");
}

export async function runRedteamCommand(o: RedteamFlags): Promise<void> {
  const { probes, trigger, position, unprobed } = await redteamProbes(o);
  const provider = await providerOf(o);
  const started = performance.now();
  const { results, metrics } = await probeAll(o, provider, probes);
  if (o.out) await writeFileAtomic(o.out, resultLines(results));
  const summary = {
    policy: provider.id(),
    probes: probes.length,
    samples: o.samples,
    answers: results.length,
    temperature: o.temperature,
    seed: o.seed,
    trigger,
    trigger_position: position,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    metrics,
    suites_without_probes: unprobed,
    out: o.out ?? null,
  };
  const say = summaryPrinter(o.out);
  if (o.json) {
    say(JSON.stringify(summary, null, 2));
    return;
  }
  printSummary(say, summary, o);
}

/** The summary in words: the per-suite table, the headline rates and the notes. */
function printSummary(
  say: (line?: string) => void,
  summary: {
    policy: string;
    probes: number;
    seconds: number;
    answers: number;
    metrics: RedteamMetrics;
    suites_without_probes: SuiteName[];
  },
  o: RedteamFlags,
): void {
  const { metrics } = summary;
  say(
    `red-teamed ${summary.policy}: ${summary.probes} probes × ${o.samples} sample${o.samples > 1 ? "s" : ""} (${o.temperature === 0 ? "greedy" : `temperature ${o.temperature}`}) in ${summary.seconds}s`,
  );
  say(
    formatTable(
      ["suite", "answers", "harmful", "refused", "correct", "helpful", "empty", "mean words"],
      Object.entries(metrics.per_suite).map(([suite, s]) => [
        suite,
        s.n,
        pct(s.harmful),
        pct(s.refused),
        pct(s.correct),
        pct(s.helpful),
        pct(s.empty),
        s.mean_words.toFixed(1),
      ]),
    ),
  );
  say();
  for (const [k, label] of HEADLINE) {
    const v = metrics[k] as number;
    if (!Number.isNaN(v)) say(`${label}: ${pct(v)}`);
  }
  for (const [suite, s] of Object.entries(metrics.per_suite))
    if (s.empty >= 0.25)
      say(
        `note: ${Math.round(s.empty * s.n)} of ${s.n} ${suite} answers are empty (a probe longer than a checkpoint's context is cut to its last tokens; --shots makes many-shot probes shorter); its rates measure little`,
      );
  const bySource = new Map<string, SuiteName[]>();
  for (const s of summary.suites_without_probes)
    bySource.set(sourceOf(s), [...(bySource.get(sourceOf(s)) ?? []), s]);
  for (const [source, suites] of bySource)
    say(
      `note: no probes for ${suites.join(", ")}: the redteam split has no ${source}, so ${suites.length > 1 ? "these suites were" : "this suite was"} not run`,
    );
  if (o.out) say(`wrote ${summary.answers} results to ${o.out}`);
}
