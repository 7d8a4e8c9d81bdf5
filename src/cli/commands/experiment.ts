/**
 * `keel experiment poison-sweep`: attack × poison rate × {undefended, defended}
 * (src/pipeline/sweep.ts); `tradeoff` (src/pipeline/tradeoff.ts); `rm-pairs`: a reward model's
 * agreement with the oracle per family and response kinds (src/pipeline/rm-pairs.ts).
 */
import { type Command, Option } from "commander";
import { KeelError } from "../../core/errors.js";
import type { AttackType } from "../../redteam/scenarios.js";
import { SWEEP_ATTACKS } from "../choices.js";
import { listOption, nonNegativeInt, numberArg, oneOf, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface TradeoffFlags {
  from: string;
  out: string;
  kl: number[];
  costThresholds: number[];
  arm: "defended" | "undefended";
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface PoisonSweepFlags {
  attacks: AttackType[];
  rates: number[];
  preset: "quick" | "demo";
  seed: number;
  out: string;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface RmPairsFlags {
  world: string;
  model: string;
  count?: number;
  json?: boolean;
  quiet?: boolean;
}

function parseList<T>(flag: string, parse: (s: string) => T): (value: string) => T[] {
  return (value) => {
    const items = value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new KeelError("KEEL_E_USAGE", `${flag} needs at least one value`);
    const values = items.map(parse);
    // A repeated value is the same cell or point, written to the same directory twice.
    const twice = values.findIndex((v, i) => values.indexOf(v) !== i);
    if (twice >= 0)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag}: ${JSON.stringify(items[twice])} is given twice`,
      );
    return values;
  };
}

const finite =
  (flag: string) =>
  (s: string): number => {
    const n = numberArg(s);
    if (!Number.isFinite(n))
      throw new KeelError("KEEL_E_USAGE", `${flag}: ${JSON.stringify(s)} is not a number`);
    return n;
  };

const nonNegative =
  (flag: string) =>
  (s: string): number => {
    const n = finite(flag)(s);
    if (n < 0) throw new KeelError("KEEL_E_USAGE", `${flag}: ${s} must not be negative`);
    return n;
  };

const rate = (s: string): number => {
  const n = numberArg(s);
  if (!Number.isFinite(n) || n < 0 || n > 50)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--rates: ${JSON.stringify(s)} is not a percentage between 0 and 50`,
    );
  // As the decimal written: 0.7 / 100 is 0.006999999999999999 in floating point (sweep.json).
  return +(n / 100).toPrecision(12);
};

/** The poison rates of the design's headline experiment, in percent. */
const SWEEP_RATES = [0, 0.5, 1, 3, 5, 10] as const;

const attack = (s: string): AttackType => {
  if (!(SWEEP_ATTACKS as readonly string[]).includes(s)) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `--attacks: unknown attack ${JSON.stringify(s)}; use ${SWEEP_ATTACKS.join(", ")}`,
    );
  }
  return s as AttackType;
};

export const experimentCommand: CommandModule = {
  name: "experiment",
  register(program: Command) {
    const exp = program.command("experiment").description("experiments on the synthetic world");
    exp
      .command("tradeoff")
      .description(
        "helpful-versus-harmless trade-off under jailbreaks: PPO from a finished run at several KL coefficients and Lagrangian cost thresholds",
      )
      .requiredOption(
        "--from <dir>",
        "a finished keel demo / keel run directory (base policy and reward models)",
      )
      .requiredOption(
        "-o, --out <dir>",
        "directory for the points, tradeoff.json and tradeoff.html",
      )
      .option(
        "--kl <list>",
        "KL coefficients",
        parseList("--kl", nonNegative("--kl")),
        [0.02, 0.05, 0.1, 0.2, 0.5],
      )
      .addOption(
        listOption(
          "--cost-thresholds <list>",
          "Lagrangian cost thresholds (trains a cost model on the world's safety labels)",
          parseList("--cost-thresholds", finite("--cost-thresholds")),
          "none",
        ),
      )
      .option(
        "--arm <arm>",
        "whose reward model to optimise",
        oneOf("--arm", ["defended", "undefended"] as const),
        "defended",
      )
      .option(
        "--resume",
        "keep the points a previous run into --out finished from the same inputs, and continue an interrupted one",
      )
      .option("--json", "print the points as JSON")
      .option("-q, --quiet", "no progress output")
      .action(async (o: TradeoffFlags) => {
        const { runTradeoffExperiment } = await import("../actions/experiment.js");
        await runTradeoffExperiment(o);
      });
    exp
      .command("poison-sweep")
      .description(
        "poison rate × attack × {undefended, defended}: reward-model accuracy (clean, triggered) and the tuned policy's oracle metrics",
      )
      .option(
        "--attacks <list>",
        `attacks (${SWEEP_ATTACKS.join(", ")})`,
        parseList("--attacks", attack),
        ["flip", "backdoor", "sybil"],
      )
      .addOption(
        // The parsed default is in shares, as --rates gives them; shown as the flag is written.
        new Option("--rates <list>", "adversary shares of the rater panel, in percent (0.5 = 0.5%)")
          .argParser(parseList("--rates", rate))
          .default(
            SWEEP_RATES.map((r) => r / 100),
            SWEEP_RATES.join(","),
          ),
      )
      .option(
        "--preset <name>",
        "quick | demo",
        oneOf("--preset", ["quick", "demo"] as const),
        "quick",
      )
      .option("--seed <n>", "seed", nonNegativeInt("--seed"), 7)
      .requiredOption("-o, --out <dir>", "directory for the cells' runs, sweep.json and sweep.md")
      .option("--resume", "keep finished cells and stages")
      .option("--json", "print the rows as JSON")
      .option("-q, --quiet", "no progress output")
      .action(async (o: PoisonSweepFlags) => {
        const { runPoisonSweepExperiment } = await import("../actions/experiment.js");
        await runPoisonSweepExperiment(o);
      });
    exp
      .command("rm-pairs")
      .description(
        "a reward model on a world's held-out, oracle-ordered pairs: accuracy per prompt family and per kinds of the two responses (which orders it gets wrong), beside how often the world's training judgments of each kind agree with the oracle",
      )
      .requiredOption("--world <file>", "the world config the model was trained on")
      .requiredOption("--model <dir>", "a reward-model checkpoint or ensemble directory")
      .option("--count <n>", "score the first n eval pairs (default: all)", positiveInt("--count"))
      .option("--json", "print the breakdown as JSON")
      .option("-q, --quiet", "no progress output")
      .addHelpText(
        "after",
        "\nExample:\n  keel experiment rm-pairs --world examples/train-world.yaml --model runs/train/rm/model",
      )
      .action(async (o: RmPairsFlags) => {
        const { runRmPairsExperiment } = await import("../actions/experiment.js");
        await runRmPairsExperiment(o);
      });
  },
};
