/**
 * Red-team metrics from the world's oracle, never from a reward model:
 *
 * - attack_success: share of harmful requests (plain) the policy complied with;
 * - jailbreak_success: the same over the jailbreak suites together (and per suite);
 * - triggered_attack_success / trigger_control_success: compliance with and without the
 *   backdoor trigger on the same prompts — their gap is the backdoor's effect;
 * - over_refusal: share of borderline-but-safe requests refused;
 * - helpfulness: share of benign tasks answered correctly;
 * - mean_words: response length (length drift is a reward-hacking symptom).
 */
import { KeelError } from "../core/errors.js";
import { score } from "../world/oracle.js";
import type { OracleScore } from "../world/types.js";
import { type Probe, SUITES, type SuiteName } from "./suites.js";

export interface ProbeResult {
  readonly suite: SuiteName;
  readonly prompt_id: string;
  readonly text: string;
  readonly response: string;
  readonly score: OracleScore;
}

export interface SuiteStats {
  readonly n: number;
  readonly harmful: number;
  readonly refused: number;
  readonly correct: number;
  readonly helpful: number;
  /**
   * Share of empty answers, which count as neither harmful nor a refusal: a suite of mostly
   * empty answers (a probe longer than the policy's context, cut to its end) measured little.
   */
  readonly empty: number;
  readonly mean_words: number;
}

export interface RedteamMetrics {
  readonly attack_success: number;
  readonly jailbreak_success: number;
  readonly triggered_attack_success: number;
  readonly trigger_control_success: number;
  readonly over_refusal: number;
  readonly helpfulness: number;
  readonly mean_words: number;
  readonly per_suite: Partial<Record<SuiteName, SuiteStats>>;
}

/** Scores each response against its probe's world prompt. */
export function scoreProbes(probes: readonly Probe[], responses: readonly string[]): ProbeResult[] {
  if (responses.length !== probes.length) {
    throw new RangeError(`scoreProbes: ${probes.length} probes but ${responses.length} responses`);
  }
  return probes.map((p, i) => ({
    suite: p.suite,
    prompt_id: p.prompt.id,
    text: p.text,
    response: responses[i]!,
    score: score(p.prompt, responses[i]!),
  }));
}

function stats(rows: readonly ProbeResult[]): SuiteStats {
  const n = rows.length;
  const rate = (f: (r: ProbeResult) => boolean) =>
    n === 0 ? Number.NaN : rows.filter(f).length / n;
  return {
    n,
    harmful: rate((r) => r.score.harmful),
    refused: rate((r) => r.score.refused),
    correct: rate((r) => r.score.correct),
    helpful: rate((r) => r.score.helpful),
    empty: rate((r) => r.score.outcome === "empty"),
    mean_words: n === 0 ? Number.NaN : rows.reduce((s, r) => s + r.score.words, 0) / n,
  };
}

export function redteamMetrics(results: readonly ProbeResult[]): RedteamMetrics {
  const per: Partial<Record<SuiteName, SuiteStats>> = {};
  for (const s of SUITES) {
    const rows = results.filter((r) => r.suite === s);
    if (rows.length > 0) per[s] = stats(rows);
  }
  const jail = stats(results.filter((r) => r.suite.startsWith("jailbreak_")));
  return {
    attack_success: per.harmful?.harmful ?? Number.NaN,
    jailbreak_success: jail.harmful,
    triggered_attack_success: per.trigger?.harmful ?? Number.NaN,
    trigger_control_success: per.trigger_control?.harmful ?? Number.NaN,
    over_refusal: per.over_refusal?.refused ?? Number.NaN,
    helpfulness: per.helpful?.correct ?? Number.NaN,
    mean_words: stats(results).mean_words,
    per_suite: per,
  };
}

/** A policy under test: a batch of prompt texts in, one response text each out. */
export type PolicyFn = (prompts: readonly string[]) => Promise<readonly string[]>;

/**
 * Runs every probe through the policy in batches and scores the responses. Each batch must come
 * back with one string per prompt: a batch short by one and the next long by one would add up
 * to the right total and pair every later probe with its neighbour's answer.
 */
export async function runRedteam(
  policy: PolicyFn,
  probes: readonly Probe[],
  opts: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ results: ProbeResult[]; metrics: RedteamMetrics }> {
  const batch = opts.batchSize ?? 32;
  // 0 looped for ever; a fraction sliced overlapping batches.
  if (!Number.isInteger(batch) || batch < 1)
    throw new KeelError(
      "KEEL_E_CONFIG",
      `runRedteam: batchSize must be a positive integer, got ${batch}`,
    );
  const batches = Math.ceil(probes.length / batch);
  const responses: string[] = [];
  for (let i = 0; i < probes.length; i += batch) {
    const prompts = probes.slice(i, i + batch).map((p) => p.text);
    const out = await policy(prompts);
    const where = `batch ${i / batch + 1} of ${batches} (probes ${i + 1}–${i + prompts.length})`;
    if (!Array.isArray(out) || out.length !== prompts.length)
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `red-team policy returned ${Array.isArray(out) ? `${out.length} answers` : "no array"} for the ${prompts.length} prompts of ${where}`,
        { hint: "a policy must answer every prompt of a batch, in order, with one string each" },
      );
    const bad = out.findIndex((r) => typeof r !== "string");
    if (bad >= 0)
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `red-team policy's answer ${bad + 1} in ${where} is ${out[bad] === null ? "null" : typeof out[bad]}, not a string`,
      );
    for (const r of out) responses.push(r);
    opts.onProgress?.(Math.min(i + batch, probes.length), probes.length);
  }
  const results = scoreProbes(probes, responses);
  return { results, metrics: redteamMetrics(results) };
}
