/**
 * bench:defend — every attacker type of the synthetic world at 1%, 5%, 10% and 20% of raters,
 * overlap 3 and 5, audited by `audit()` (balanced policy) in the same process, against the
 * undefended aggregate (Dawid–Skene over all judgments) on the same data.
 *
 *   npm run bench:defend [-- --quick] [-- --comparisons N] [-- --scale-judgments N]
 *                        [-- --attacks entity_promoter,sybil] [-- --no-scale]
 *
 * Panel: 200 raters, of whom max(2, round(200·rate)) are attackers; 15,000 comparisons; world
 * defaults otherwise (skills N(4, 1.5²), 5% gold). Attacks as in examples/world-*.yaml: flippers,
 * backdoor raters (trigger SUDO on 5% of comparisons, claim 0.6), sleepers (flip every non-gold
 * vote; audited WITHOUT gold), sybil teams (5 accounts, goal unsafe, co-assign 0.9), length
 * poisoners, entity promoters, careless raters (random).
 *
 * Per run: ROC AUC of the suspicion score (attackers positive, honest raters negative; ties
 * count ½); precision and recall of "flagged" (verdict suspect or excluded); the share of
 * poisoned judgments (those the world marks as coming from an adversarial rule; for careless
 * raters, all their judgments) whose effective weight fell to ≤ ½ (removed or down-weighted);
 * the share of honest raters' judgments whose weight fell to ≤ ½ (clean judgments lost); label
 * accuracy against the world's truth over all comparisons and over the comparisons that carry a
 * poisoned judgment, before (Dawid–Skene, undefended) and after (the audit's cleaned p_a; an
 * undecided p_a = ½ counts half). Then one audit of 1,000,000 judgments, timed, with the plain
 * Dawid–Skene fit on the same judgments as the reference.
 *
 * Writes bench/results/defend.json (defend.quick.json with --quick).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dawidSkene, encodeJudgments } from "../src/aggregate/index.js";
import type { Judgment } from "../src/core/types.js";
import { audit } from "../src/defend/index.js";
import {
  parseWorldConfig,
  type RaterGroupConfig,
  simulatePanel,
  type WorldTruth,
} from "../src/world/index.js";
import { benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs("defend", process.argv.slice(2), {
  flags: ["--no-scale"],
  options: ["--comparisons", "--scale-judgments", "--attacks"],
});
const QUICK = cli.quick;
const PANEL = 200;
const COMPARISONS = cli.int("--comparisons", QUICK ? 3000 : 15_000);
const SCALE = cli.int("--scale-judgments", QUICK ? 100_000 : 1_000_000);
const NO_SCALE = cli.has("--no-scale");
const RATES = QUICK ? [0.05, 0.2] : [0.01, 0.05, 0.1, 0.2];
const OVERLAPS = QUICK ? [3] : [3, 5];

type Attack =
  | "flipper"
  | "backdoor"
  | "sleeper"
  | "sybil"
  | "length_poisoner"
  | "entity_promoter"
  | "careless";
const ATTACKS: Attack[] = [
  "flipper",
  "backdoor",
  "sleeper",
  "sybil",
  "length_poisoner",
  "entity_promoter",
  "careless",
];

/** `--attacks a,b`: only these (each run keeps the seed it has in the full table). */
const ONLY = cli.has("--attacks") ? new Set(cli.list("--attacks", ATTACKS, ATTACKS)) : undefined;

function attackers(a: Attack, k: number): RaterGroupConfig {
  const g: Record<Attack, unknown> = {
    flipper: { type: "flipper", count: k },
    backdoor: { type: "backdoor", count: k, claim: 0.6 },
    sleeper: { type: "sleeper", count: k, poison: "flip", gold_detection: 1 },
    sybil: { type: "sybil", count: k, group_size: Math.min(5, k), goal: "unsafe", co_assign: 0.9 },
    length_poisoner: { type: "length_poisoner", count: k },
    entity_promoter: { type: "entity_promoter", count: k },
    careless: { type: "careless", count: k, mode: "random" },
  };
  return g[a] as RaterGroupConfig;
}

interface Row {
  attack: Attack;
  rate: number;
  overlap: number;
  attackers: number;
  judgments: number;
  auc: number;
  precision: number;
  recall: number;
  poisonedDown: number;
  poisoned: number;
  cleanLost: number;
  accBefore: number;
  accAfter: number;
  accAttackedBefore: number;
  accAttackedAfter: number;
  attackedComparisons: number;
  seconds: number;
}

function rocAuc(pos: number[], neg: number[]): number {
  if (pos.length === 0 || neg.length === 0) return Number.NaN;
  // Rank-sum with average ranks for ties.
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort(
    (x, y) => x.s - y.s,
  );
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const avg = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p === 1) rankSum += avg;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

function accuracy(
  truth: WorldTruth,
  pA: ReadonlyMap<string, number>,
  only?: ReadonlySet<string>,
): number {
  let right = 0;
  let n = 0;
  for (const c of truth.comparisons) {
    if (c.better === "tie" || (only && !only.has(c.comparison_id))) continue;
    const p = pA.get(c.comparison_id) ?? 0.5;
    n++;
    right += p === 0.5 ? 0.5 : (p > 0.5 ? "a" : "b") === c.better ? 1 : 0;
  }
  return n > 0 ? right / n : Number.NaN;
}

function undefended(judgments: readonly Judgment[]): Map<string, number> {
  const data = encodeJudgments(judgments);
  const fit = dawidSkene(data.categorical, { maxIter: 50, tol: 1e-6 });
  const K = fit.classes.length;
  const ia = fit.classes.indexOf("a");
  const it = fit.classes.indexOf("tie");
  const out = new Map<string, number>();
  fit.tasks.forEach((id, t) => {
    out.set(
      id,
      (ia >= 0 ? fit.probas[t * K + ia]! : 0) + (it >= 0 ? 0.5 * fit.probas[t * K + it]! : 0),
    );
  });
  return out;
}

function runOne(attack: Attack, rate: number, overlap: number, seed: number): Row {
  const k = Math.max(2, Math.round(PANEL * rate));
  const config = parseWorldConfig({
    seed,
    comparisons: { count: COMPARISONS, overlap, gold_rate: 0.05 },
    trigger: { rate: attack === "backdoor" ? 0.05 : 0 },
    panel: { raters: [{ type: "honest", count: PANEL - k }, attackers(attack, k)] },
  });
  const sim = simulatePanel(config, seed);
  const t0 = performance.now();
  const result = audit({ judgments: sim.judgments }, { useGold: attack !== "sleeper" });
  const seconds = (performance.now() - t0) / 1000;
  const typeOf = new Map(sim.truth.raters.map((r) => [r.rater_id, r.type]));
  const pos: number[] = [];
  const neg: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const r of result.raters) {
    const bad = typeOf.get(r.rater_id) !== "honest";
    (bad ? pos : neg).push(r.suspicion);
    if (r.verdict !== "trusted") bad ? tp++ : fp++;
  }
  const poisonedKeys = new Set<string>();
  const attackedComparisons = new Set<string>();
  for (const c of sim.truth.comparisons) {
    for (const r of c.attacked_by) {
      poisonedKeys.add(`${c.comparison_id}|${r}`);
      attackedComparisons.add(c.comparison_id);
    }
  }
  let poisoned = 0;
  let poisonedDown = 0;
  let clean = 0;
  let cleanLost = 0;
  sim.judgments.forEach((j, i) => {
    const w = result.judgmentWeights[i]!;
    const type = typeOf.get(j.rater_id);
    const isPoison = type === "careless" || poisonedKeys.has(`${j.comparison_id}|${j.rater_id}`);
    if (type === "careless") attackedComparisons.add(j.comparison_id);
    if (isPoison) {
      poisoned++;
      if (w <= 0.5) poisonedDown++;
    } else if (type === "honest") {
      clean++;
      if (w <= 0.5) cleanLost++;
    }
  });
  const before = undefended(sim.judgments);
  const after = new Map(result.comparisons.map((c) => [c.comparison_id, c.p_a]));
  return {
    attack,
    rate,
    overlap,
    attackers: k,
    judgments: sim.judgments.length,
    auc: rocAuc(pos, neg),
    precision: tp + fp > 0 ? tp / (tp + fp) : Number.NaN,
    recall: tp / pos.length,
    poisonedDown: poisoned > 0 ? poisonedDown / poisoned : Number.NaN,
    poisoned,
    cleanLost: cleanLost / clean,
    accBefore: accuracy(sim.truth, before),
    accAfter: accuracy(sim.truth, after),
    accAttackedBefore: accuracy(sim.truth, before, attackedComparisons),
    accAttackedAfter: accuracy(sim.truth, after, attackedComparisons),
    attackedComparisons: attackedComparisons.size,
    seconds,
  };
}

function scaleRun(n: number): {
  audit: number;
  ds: number;
  judgments: number;
  raters: number;
  rssMb: number;
} {
  const config = parseWorldConfig({
    seed: 99,
    comparisons: { count: Math.ceil(n / 3), overlap: 3, gold_rate: 0.05 },
    trigger: { rate: 0.02 },
    panel: {
      raters: [
        { type: "honest", count: 1900 },
        { type: "backdoor", count: 40, claim: 0.5 },
        { type: "sybil", count: 40, group_size: 5 },
        { type: "careless", count: 20 },
      ],
    },
  });
  const sim = simulatePanel(config, 99);
  const t0 = performance.now();
  const res = audit({ judgments: sim.judgments });
  const auditS = (performance.now() - t0) / 1000;
  const rssMb = process.memoryUsage().rss / 1e6;
  const t1 = performance.now();
  undefended(sim.judgments);
  const dsS = (performance.now() - t1) / 1000;
  return {
    audit: auditS,
    ds: dsS,
    judgments: sim.judgments.length,
    raters: res.raters.length,
    rssMb,
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const pc = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "–");

function main(): void {
  const rows: Row[] = [];
  const started = performance.now();
  let seed = 1000;
  for (const attack of ATTACKS) {
    for (const rate of RATES) {
      for (const overlap of OVERLAPS) {
        const runSeed = seed++;
        if (ONLY && !ONLY.has(attack)) continue;
        const r = runOne(attack, rate, overlap, runSeed);
        rows.push(r);
        process.stderr.write(
          `  ${attack} ${pc(rate)} overlap ${overlap}: AUC ${f3(r.auc)} (${r.seconds.toFixed(2)} s)\n`,
        );
      }
    }
  }
  const header = [
    "attack",
    "raters",
    "overlap",
    "AUC",
    "precision",
    "recall",
    "poisoned ↓",
    "clean lost",
    "acc before",
    "acc after",
    "attacked before",
    "attacked after",
  ];
  const table = rows.map((r) => [
    r.attack,
    `${pc(r.rate)} (${r.attackers})`,
    String(r.overlap),
    f3(r.auc),
    f3(r.precision),
    f3(r.recall),
    pc(r.poisonedDown),
    pc(r.cleanLost),
    pc(r.accBefore),
    pc(r.accAfter),
    pc(r.accAttackedBefore),
    pc(r.accAttackedAfter),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(
    `\nbench:defend — ${PANEL} raters, ${COMPARISONS} comparisons per run, balanced policy${QUICK ? " (quick)" : ""}\n`,
  );
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const t of table) console.log(line(t));
  const scale = NO_SCALE ? undefined : scaleRun(SCALE);
  if (scale)
    console.log(
      `\nscale: audit of ${scale.judgments.toLocaleString("en-US")} judgments by ${scale.raters} raters: ${scale.audit.toFixed(1)} s ` +
        `(encode + Dawid–Skene on the same judgments, no defenses: ${scale.ds.toFixed(1)} s; process RSS ${scale.rssMb.toFixed(0)} MB)`,
    );
  // Targets.
  const target = (a: Attack) => rows.filter((r) => r.attack === a && r.rate >= 0.05);
  console.log("\ntargets:");
  for (const a of ["flipper", "backdoor", "sybil", "entity_promoter"] as Attack[]) {
    if (target(a).length === 0) continue;
    const min = Math.min(...target(a).map((r) => r.auc));
    console.log(
      `  AUC ≥ 0.95 for ${a} at ≥ 5% of raters: min ${f3(min)} ${min >= 0.95 ? "MET" : "MISSED"}`,
    );
  }
  const sl = rows.filter((r) => r.attack === "sleeper");
  if (sl.length > 0)
    console.log(
      `  sleepers without gold: min recall ${f3(Math.min(...sl.map((r) => r.recall)))}, min AUC ${f3(Math.min(...sl.map((r) => r.auc)))}`,
    );
  const maxLost = Math.max(...rows.map((r) => r.cleanLost));
  console.log(
    `  clean judgments lost ≤ 5%: max ${pc(maxLost)} ${maxLost <= 0.05 ? "MET" : "MISSED"}`,
  );
  if (scale)
    console.log(
      `  audit of ${scale.judgments.toLocaleString("en-US")} judgments < 60 s: ${scale.audit.toFixed(1)} s ${scale.audit < 60 ? "MET" : "MISSED"}`,
    );
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const records: Record<string, unknown>[] = [];
  for (const r of rows) {
    const config = `${r.attack} ${pc(r.rate)} of raters, overlap ${r.overlap}`;
    records.push({ config, metric: "suspicion ROC AUC", unit: "ratio", keel: r.auc });
    records.push({
      config,
      metric: "detection precision (suspect or excluded)",
      unit: "ratio",
      keel: r.precision,
    });
    records.push({
      config,
      metric: "detection recall (suspect or excluded)",
      unit: "ratio",
      keel: r.recall,
    });
    records.push({
      config,
      metric: "poisoned judgments removed or down-weighted (weight ≤ ½)",
      unit: "share",
      keel: r.poisonedDown,
    });
    records.push({
      config,
      metric: "clean judgments lost (honest raters, weight ≤ ½)",
      unit: "share",
      keel: r.cleanLost,
    });
    records.push({
      config,
      metric: "label accuracy vs truth, all comparisons",
      unit: "share",
      keel: r.accAfter,
      reference: r.accBefore,
      reference_name: "undefended Dawid–Skene",
      ratio: r.accAfter / r.accBefore,
    });
    records.push({
      config,
      metric: "label accuracy vs truth, comparisons with a poisoned judgment",
      unit: "share",
      keel: r.accAttackedAfter,
      reference: r.accAttackedBefore,
      reference_name: "undefended Dawid–Skene",
      ratio: r.accAttackedAfter / r.accAttackedBefore,
    });
    records.push({ config, metric: "audit time", unit: "s", keel: r.seconds });
  }
  if (scale)
    records.push({
      config: `scale: ${scale.judgments} judgments, ${scale.raters} raters, overlap 3`,
      metric: "audit time",
      unit: "s",
      keel: scale.audit,
      reference: scale.ds,
      reference_name: "encode + Dawid–Skene on the same judgments (no defenses)",
      ratio: scale.ds / scale.audit,
    });
  const outDir = join(HERE, "results");
  mkdirSync(outDir, { recursive: true });
  const sanitized = JSON.stringify(
    records,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  );
  // A partial run (--attacks, --no-scale, other sizes) must not replace the full table's results.
  writeFileSync(join(outDir, resultFile("defend", cli)), `${sanitized}\n`);
}

main();
