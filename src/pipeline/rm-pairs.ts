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
 *
 * Next to each row, how often the world's own judgments — the ones a reward model trains on —
 * agree with the oracle on training comparisons of the same family and kinds: where the labels
 * are right and the model is not, the model has not learnt what its data says; where both are
 * wrong, the data never said it.
 */
import { compareText } from "../core/canonical.js";
import { KeelError } from "../core/errors.js";
import { percent } from "../core/percent.js";
import { loadRewardFn } from "../train/index.js";
import { pairCredit } from "../train/rm/metrics.js";
import {
  type EvalPair,
  evalPairFamily,
  evalPairs,
  simulateComparisons,
  type World,
} from "../world/index.js";

/** How often the judgments of some comparisons agree with the oracle (a tie counts ½). */
export interface LabelAgreement {
  readonly judgments: number;
  readonly agreement: number;
}

export interface PairTally {
  /** Family ("arithmetic", "harmful+trigger", ...) or family and kinds ("facts correct>wrong"). */
  readonly key: string;
  readonly pairs: number;
  readonly accuracy: number;
  /** The world's judgments on training comparisons with the same key (when asked for). */
  readonly labels?: LabelAgreement;
}

export interface PairBreakdown {
  readonly pairs: number;
  readonly accuracy: number;
  /** The world's judgments against its oracle over all training comparisons (when asked for). */
  readonly labels?: LabelAgreement;
  /** One row per family, sorted by name. */
  readonly families: readonly PairTally[];
  /** One row per family and chosen>rejected kinds, sorted by key. */
  readonly kinds: readonly PairTally[];
}

/**
 * The world's judgments against its oracle, keyed as the breakdown's rows: "all", by family, and
 * by family and kinds with the oracle's preferred response first. Comparisons the oracle calls a
 * tie are left out.
 */
export function labelAgreement(world: World): Map<string, LabelAgreement> {
  const tally = new Map<string, [number, number]>();
  const add = (k: string, v: number) => {
    const t = tally.get(k) ?? [0, 0];
    t[0] += v;
    t[1] += 1;
    tally.set(k, t);
  };
  for (const { truth: t, judgments } of simulateComparisons(world)) {
    if (t.better === "tie") continue;
    const family = evalPairFamily(t);
    const [win, lose] = t.better === "a" ? [t.kind_a, t.kind_b] : [t.kind_b, t.kind_a];
    for (const j of judgments) {
      const v = j.choice === t.better ? 1 : j.choice === "tie" ? 0.5 : 0;
      add("all", v);
      add(family, v);
      add(`${family} ${win}>${lose}`, v);
    }
  }
  return new Map([...tally].map(([k, [a, n]]) => [k, { judgments: n, agreement: a / n }]));
}

/**
 * Tallies agreement with the oracle given each pair's chosen and rejected scores; with
 * `labels` (from `labelAgreement`), each row also carries its key's label agreement.
 */
export function tallyPairs(
  pairs: readonly EvalPair[],
  chosen: ArrayLike<number>,
  rejected: ArrayLike<number>,
  labels?: ReadonlyMap<string, LabelAgreement>,
): PairBreakdown {
  const fam = new Map<string, [number, number]>();
  const kinds = new Map<string, [number, number]>();
  let total = 0;
  pairs.forEach((p, i) => {
    const d = chosen[i]! - rejected[i]!;
    const v = pairCredit(d);
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
      .sort(([a], [b]) => compareText(a, b))
      .map(([key, [a, n]]) => {
        const l = labels?.get(key);
        return { key, pairs: n, accuracy: a / n, ...(l ? { labels: l } : {}) };
      });
  const all = labels?.get("all");
  return {
    pairs: pairs.length,
    accuracy: pairs.length === 0 ? 0 : total / pairs.length,
    ...(all ? { labels: all } : {}),
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
  /** Also tally the world's judgments against its oracle per row (default: true). */
  readonly labels?: boolean;
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
  // An accuracy over no pair would print as 0.0%: a model that got every pair wrong.
  if (pairs.length === 0)
    throw new KeelError(
      "KEEL_E_CONFIG",
      "is 0: the world holds no eval pair to score the reward model on",
      {
        where: { field: "eval_pairs.count" },
        hint: "give the world's eval_pairs a count above 0 (and prompts.splits.eval a share)",
      },
    );
  const rm = loadRewardFn(o.model, o.threads === undefined ? {} : { threads: o.threads });
  try {
    const s = await scorePairs(rm.reward, pairs);
    return tallyPairs(
      pairs,
      s.chosen,
      s.rejected,
      o.labels === false ? undefined : labelAgreement(o.world),
    );
  } finally {
    await rm.dispose();
  }
}

/**
 * The breakdown as a Markdown table: each family's row, then its kinds' rows; with label
 * agreement, two more columns (the share of training judgments that agree with the oracle, and
 * their number; "–" where no training comparison has the row's kinds).
 */
export function pairsMarkdown(b: PairBreakdown): string {
  const pct = percent;
  const withLabels = b.labels !== undefined;
  const extra = (r: PairTally, bold = false) => {
    if (!withLabels) return "";
    if (!r.labels) return " – | 0 |";
    const a = pct(r.labels.agreement);
    return ` ${bold ? `**${a}**` : a} | ${r.labels.judgments} |`;
  };
  const lines = withLabels
    ? [
        "| pairs | n | accuracy | judgments agree | judgments |",
        "|---|---|---|---|---|",
        `| **all** | ${b.pairs} | **${pct(b.accuracy)}** | **${pct(b.labels!.agreement)}** | ${b.labels!.judgments} |`,
      ]
    : [
        "| pairs | n | accuracy |",
        "|---|---|---|",
        `| **all** | ${b.pairs} | **${pct(b.accuracy)}** |`,
      ];
  for (const f of b.families) {
    lines.push(`| **${f.key}** | ${f.pairs} | **${pct(f.accuracy)}** |${extra(f, true)}`);
    for (const k of b.kinds.filter((r) => r.key.startsWith(`${f.key} `)))
      lines.push(`| ${k.key} | ${k.pairs} | ${pct(k.accuracy)} |${extra(k)}`);
  }
  return lines.join("\n");
}
