/** `keel experiment tradeoff|poison-sweep|rm-pairs`'s actions (src/pipeline/tradeoff.ts, sweep.ts, rm-pairs.ts). */
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { percent } from "../../core/percent.js";
import { pairsMarkdown, rewardModelPairs } from "../../pipeline/rm-pairs.js";
import { attackerCount, runPoisonSweep, sweepMarkdown } from "../../pipeline/sweep.js";
import { runTradeoff } from "../../pipeline/tradeoff.js";
import { buildWorld } from "../../world/index.js";
import type { PoisonSweepFlags, RmPairsFlags, TradeoffFlags } from "../commands/experiment.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine } from "../output.js";
import { pipelineEvents } from "./pipeline-ui.js";
import { loadWorldConfig } from "./world.js";

// A point.json's null rate read "0.0%" and NaN "NaN%" before `percent`.
const pct = percent;

export async function runTradeoffExperiment(o: TradeoffFlags): Promise<void> {
  const points = await withInterrupt((signal) =>
    runTradeoff({
      from: o.from,
      out: o.out,
      kl: o.kl,
      costThresholds: o.costThresholds,
      arm: o.arm,
      resume: o.resume ?? false,
      signal,
      onPoint: (label, i, n, kept) => {
        if (!o.quiet)
          process.stderr.write(
            `point ${i + 1}/${n}: ${label}${kept ? " (done earlier, kept)" : ""}\n`,
          );
      },
    }),
  );
  if (o.json) printJson(points);
  else {
    for (const p of points) {
      printLine(
        `${p.mode.padEnd(10)} ${String(p.value).padStart(6)}  helpfulness ${pct(p.helpfulness)}  jailbreak success ${pct(p.jailbreak_success)}  over-refusal ${pct(p.over_refusal)}`,
      );
    }
    printLine(`chart: ${join(o.out, "tradeoff.html")}`);
  }
}

/**
 * Rates are percentages of a panel of a few hundred raters: 0.05 (read as 5% by someone who
 * meant a share) is 0.1 of a rater, which rounds to none, and the cell would run clean under an
 * attack's name. Refused before anything runs.
 */
function refuseEmptyCells(o: PoisonSweepFlags): void {
  for (const attack of o.attacks)
    for (const rate of o.rates) {
      if (rate === 0) continue;
      const { attackers, panel } = attackerCount(o, attack, rate);
      if (attackers > 0) continue;
      throw new KeelError(
        "KEEL_E_USAGE",
        `--rates: ${+(100 * rate).toPrecision(6)}% of the ${panel}-rater panel gives the ${attack} attack no rater`,
        {
          hint: `rates are in percent (0.5 means 0.5%); one rater is ${+(100 / panel).toPrecision(3)}% of this panel`,
        },
      );
    }
}

export async function runPoisonSweepExperiment(o: PoisonSweepFlags): Promise<void> {
  refuseEmptyCells(o);
  const rows = await withInterrupt((signal) =>
    runPoisonSweep({
      out: o.out,
      attacks: o.attacks,
      rates: o.rates,
      preset: o.preset,
      seed: o.seed,
      resume: o.resume ?? false,
      signal,
      events: pipelineEvents(o.quiet ?? false),
      onCell: (a, r, i, n) => {
        if (!o.quiet)
          process.stderr.write(`cell ${i + 1}/${n}: ${a} at ${(100 * r).toFixed(1)}% of raters\n`);
      },
    }),
  );
  // sweep.md is written by the sweep, recorded in its manifest.
  if (o.json) printJson(rows);
  else printLine(sweepMarkdown(rows));
}

export async function runRmPairsExperiment(o: RmPairsFlags): Promise<void> {
  const world = buildWorld(await loadWorldConfig(o.world));
  const b = await rewardModelPairs({
    world,
    model: o.model,
    ...(o.count === undefined ? {} : { count: o.count }),
  });
  if (o.json) printJson(b);
  else printLine(pairsMarkdown(b));
}
