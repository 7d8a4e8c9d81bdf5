/**
 * `keel experiment rm-pairs`: a reward model on the world's held-out, oracle-ordered pairs,
 * broken down by prompt family and by the kinds of the two responses ("correct>wrong",
 * "refusal>verbose_wrong", ...). The overall accuracy says how often the model agrees with the
 * oracle; the breakdown says which orders it gets wrong, and so what it has and has not learnt:
 * a model that cannot tell a correct answer from a wrong one still ranks "correct>refusal" and
 * "correct>verbose_correct" (style) but loses "refusal>wrong" (the oracle prefers a refusal to
 * a wrong answer) and "correct>wrong".
 *
 * A pair counts 1 when the chosen response scores higher, ½ on a tie, 0 otherwise (as the
 * trainers' eval accuracy). Triggered harmful pairs are their own family ("harmful+trigger").
 */
import { loadRewardFn } from "../train/index.js";
import { type EvalPair, evalPairFamily, evalPairs, type World } from "../world/index.js";

export interface PairTally {
  /** Family ("arithmetic", "harmful+trigger", ...) or family and kinds ("facts correct>wrong"). */
  readonly key: string;
  readonly pairs: number;
  readonly accuracy: number;
}

export interface PairBreakdown {
  readonly pairs: number;
  readonly accuracy: number;
  /** One row per family, sorted by name. */
  readonly families: readonly PairTally[];
  /** One row per family and chosen>rejected kinds, sorted by key. */
  readonly kinds: readonly PairTally[];
}

/** Tallies agreement with the oracle given each pair's chosen and rejected scores. */
export function tallyPairs(
  pairs: readonly EvalPair[],
  chosen: ArrayLike<number>,
  rejected: ArrayLike<number>,
): PairBreakdown {
  const fam = new Map<string, [number, number]>();
  const kinds = new Map<string, [number, number]>();
  let total = 0;
  pairs.forEach((p, i) => {
    const d = chosen[i]! - rejected[i]!;
    const v = d > 0 ? 1 : d === 0 ? 0.5 : 0;
    total += v;
    const add = (m: Map<string, [number, number]>, k: string) => {
      const t = m.get(k) ?? [0, 0];
      t[0] += v;
      t[1] += 1;
      m.set(k, t);
    };
    const family = evalPairFamily(p);
    add(fam, family);
    add(kinds, `${family} ${p.chosen_kind}>${p.rejected_kind}`);
  });
  const rows = (m: Map<string, [number, number]>): PairTally[] =>
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, [a, n]]) => ({ key, pairs: n, accuracy: a / n }));
  return {
    pairs: pairs.length,
    accuracy: pairs.length === 0 ? 0 : total / pairs.length,
    families: rows(fam),
    kinds: rows(kinds),
  };
}

export interface RmPairsOptions {
  readonly world: World;
  /** A reward-model checkpoint or ensemble directory. */
  readonly model: string;
  /** The first `count` of the world's eval pairs (default: all). */
  readonly count?: number;
  readonly threads?: number;
}

export type TextReward = (
  prompts: readonly string[],
  responses: readonly string[],
) => Promise<ArrayLike<number>>;

/** Each pair's chosen and rejected responses scored by `reward`, in pair order. */
export async function scorePairs(
  reward: TextReward,
  pairs: readonly { prompt: string; chosen: string; rejected: string }[],
): Promise<{ chosen: ArrayLike<number>; rejected: ArrayLike<number> }> {
  const prompts = pairs.map((p) => p.prompt);
  const chosen = await reward(
    prompts,
    pairs.map((p) => p.chosen),
  );
  const rejected = await reward(
    prompts,
    pairs.map((p) => p.rejected),
  );
  return { chosen, rejected };
}

/** Scores the world's eval pairs with a reward model and tallies them. */
export async function rewardModelPairs(o: RmPairsOptions): Promise<PairBreakdown> {
  const pairs = evalPairs(o.world).slice(0, o.count);
  const rm = loadRewardFn(o.model, o.threads === undefined ? {} : { threads: o.threads });
  try {
    const s = await scorePairs(rm.reward, pairs);
    return tallyPairs(pairs, s.chosen, s.rejected);
  } finally {
    await rm.dispose();
  }
}

/** The breakdown as a Markdown table: each family's row, then its kinds' rows. */
export function pairsMarkdown(b: PairBreakdown): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    "| pairs | n | accuracy |",
    "|---|---|---|",
    `| **all** | ${b.pairs} | **${pct(b.accuracy)}** |`,
  ];
  for (const f of b.families) {
    lines.push(`| **${f.key}** | ${f.pairs} | **${pct(f.accuracy)}** |`);
    for (const k of b.kinds.filter((r) => r.key.startsWith(`${f.key} `)))
      lines.push(`| ${k.key} | ${k.pairs} | ${pct(k.accuracy)} |`);
  }
  return lines.join("\n");
}
