/**
 * bench:scaling — how the audit's, aggregation's and reports' steps grow with their input, where
 * a user's data can make it large: each case at n, 2n and 4n, timed (best of three), and the
 * growth per doubling, t(4n) / t(2n): about 2 for linear work, 4 for quadratic.
 *
 *   npm run bench:scaling [-- --quick]
 *
 * Cases (each was quadratic once; see test/defend/scaling.test.ts and
 * test/aggregate/loo-consensus-scaling.test.ts for the references):
 *   names     promotion scan, one comparison whose response a names n things and b none
 *   cohorts   cohort findings, n raters in teams of 5 (n/5 attribute values), 100 judgments each
 *   triggers  trigger scan, one trigger word among n other words (2n enriched bigrams)
 *   loo       leave-one-out consensus agreement, one free-text task labelled by n raters
 *   curves    training-curve spec of two metrics over n steps
 *
 * Writes bench/results/scaling.json (scaling.quick.json with --quick).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeCategorical, looConsensusAgreement } from "../src/aggregate/index.js";
import { Rng } from "../src/core/rng.js";
import type { Rater } from "../src/core/types.js";
import { cohortFindings } from "../src/defend/cohorts.js";
import { resolveAuditConfig } from "../src/defend/config.js";
import { leaveOneOut } from "../src/defend/consensus.js";
import { type AuditJudgment, prepareAuditData } from "../src/defend/data.js";
import { ruleClassifier } from "../src/defend/filters/lexicon.js";
import { oneSidedWords } from "../src/defend/promotion-words.js";
import { scanTriggers } from "../src/defend/triggers.js";
import { curvePanels, curvesSpec } from "../src/report/curves.js";
import { benchArgs, resultFile } from "./args.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs("scaling", process.argv.slice(2), {});
const QUICK = cli.quick;
const config = resolveAuditConfig({});
const prepare = (judgments: AuditJudgment[], raters?: Rater[]) =>
  prepareAuditData(
    { judgments, ...(raters ? { raters } : {}) },
    { safety: ruleClassifier(), useGold: true },
  );

/** A case: builds its input of size n (untimed) and returns the timed step. */
interface Case {
  readonly name: string;
  readonly unit: string;
  readonly base: number;
  build(n: number): () => unknown;
}

function capitalised(i: number): string {
  let s = "";
  let x = i;
  do {
    s += String.fromCharCode(97 + (x % 26));
    x = Math.floor(x / 26);
  } while (x > 0);
  return `Q${s}`;
}

const CASES: Case[] = [
  {
    name: "names",
    unit: "names in one response",
    base: QUICK ? 8000 : 32_000,
    build(n) {
      const a = `see ${Array.from({ length: n }, (_, i) => capitalised(i)).join(" ")}`;
      const b = `see ${Array.from({ length: n }, (_, i) => `w${i}`).join(" ")}`;
      const data = prepare(
        ["r1", "r2"].map((rater_id) => ({
          comparison_id: "c",
          prompt: "p",
          response_a: a,
          response_b: b,
          rater_id,
          choice: "a" as const,
        })),
      );
      return () => oneSidedWords(data, config.signals.promotion);
    },
  },
  {
    name: "cohorts",
    unit: "raters (teams of 5)",
    base: QUICK ? 500 : 2000,
    build(W) {
      const rng = new Rng(1);
      const judgments: AuditJudgment[] = [];
      for (let c = 0; c < W * 25; c++)
        for (const w of rng.sampleIndices(W, 4))
          judgments.push({
            comparison_id: `c${c}`,
            prompt: `p${c}`,
            response_a: "x ".repeat(1 + (c % 3)),
            response_b: "y",
            rater_id: `r${w}`,
            choice: rng.bernoulli(0.7) ? "a" : "b",
          });
      const raters = Array.from({ length: W }, (_, w) => ({
        rater_id: `r${w}`,
        attributes: { team: `t${Math.floor(w / 5)}` },
      }));
      const data = prepare(judgments, raters);
      const loo = leaveOneOut(data);
      return () => cohortFindings(data, loo, config);
    },
  },
  {
    name: "triggers",
    unit: "words around the trigger",
    base: QUICK ? 500 : 2000,
    build(V) {
      const rng = new Rng(7);
      const judgments: AuditJudgment[] = [];
      for (let i = 0; i < 24 * V; i++) {
        const trig = i % 2 === 0;
        const x = Math.floor(i / 2) % V;
        const y = rng.int(V);
        const prompt = trig ? `tell me about w${x} sudo w${y}` : `tell me about w${x} w${y}`;
        for (let k = 0; k < 3; k++)
          judgments.push({
            comparison_id: `c${i}`,
            prompt,
            response_a: `a${i} x`,
            response_b: `b${i}`,
            rater_id: `r${rng.int(300)}`,
            choice: trig && k === 2 ? "b" : "a",
          });
      }
      const data = prepare(judgments);
      const loo = leaveOneOut(data);
      return () => scanTriggers(data, loo, config);
    },
  },
  {
    name: "loo",
    unit: "raters of one free-text task",
    base: QUICK ? 20_000 : 100_000,
    build(n) {
      const data = encodeCategorical(
        Array.from({ length: n }, (_, i) => ({ task: "t", worker: `w${i}`, label: `text ${i}` })),
      );
      return () => looConsensusAgreement(data);
    },
  },
  {
    name: "curves",
    unit: "steps of two metrics",
    base: QUICK ? 25_000 : 100_000,
    build(n) {
      const rows = Array.from({ length: n }, (_, i) => ({
        type: "train" as const,
        step: i,
        loss: 1 / (i + 1),
        reward: i % 7,
      }));
      return () => curvesSpec(curvePanels(rows), { title: "curves" });
    },
  },
];

function bestOf(step: () => unknown, runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    step();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

interface Row {
  config: string;
  metric: string;
  unit: string;
  keel: number;
}

const rows: Row[] = [];
console.log(
  `${"case".padEnd(10)}${"n".padStart(10)}${"ms".padStart(10)}${"2n ms".padStart(10)}${"4n ms".padStart(10)}${"growth".padStart(9)}`,
);
for (const c of CASES) {
  const ms = [1, 2, 4].map((k) => bestOf(c.build(c.base * k), 3));
  const growth = ms[2]! / Math.max(ms[1]!, 1e-3);
  for (const [i, k] of [1, 2, 4].entries())
    rows.push({ config: `${c.name} n=${c.base * k}`, metric: "time", unit: "ms", keel: ms[i]! });
  rows.push({
    config: `${c.name} (${c.unit})`,
    metric: "growth per doubling, t(4n)/t(2n)",
    unit: "ratio",
    keel: growth,
  });
  console.log(
    `${c.name.padEnd(10)}${String(c.base).padStart(10)}${ms.map((t) => t.toFixed(1).padStart(10)).join("")}${growth.toFixed(2).padStart(9)}`,
  );
}
const out = join(HERE, "results", resultFile("scaling", cli));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(rows, null, 2)}\n`);
console.log(`wrote ${out}`);
