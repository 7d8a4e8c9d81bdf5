/**
 * `keel train sft|rm|cost|ppo|dpo --config FILE [--resume]`: the trainers of src/train behind
 * one YAML file per run. The file holds the trainer's config (docs/train.md) plus:
 *
 *   out: DIR                       run directory (metrics.jsonl, checkpoints/, model/)
 *   data:                          where the examples come from, either files
 *     train: FILE                  sft {prompt, completion}; rm/dpo TRL pairs {prompt, chosen,
 *     eval: FILE                   rejected, weight?, margin?} or keel judgments; cost pairs
 *     weights: AUDIT.json          add {chosen_safe, rejected_safe}; ppo {prompt} or world
 *     prompts: FILE                prompts.jsonl rows ({content, split}); `split` filters them
 *     split: train
 *   or a synthetic world:
 *     world: examples/world.yaml   SFT corpus, judgments → pairs, eval pairs, prompts, oracle
 *   safeguards: {...}              ppo only (src/safeguards/config.ts); gold tracking uses the
 *                                  world's oracle when data.world is set
 *   redteam: {per_suite, seed}     ppo with data.world: red-team metrics at every evaluation
 * Paths are relative to the working directory (`~` is not expanded). Ctrl-C (or SIGTERM) saves a
 * checkpoint; --resume continues, under the config the run began with (its config.yaml, which is
 * itself a config: its `trainer:` field must name this subcommand).
 * --check stops after reading: it reports the example counts and the checkpoints the run starts
 * from. It refuses what the run would refuse before training (a checkpoint or tokenizer file
 * that is missing or not one, a model of the wrong kind, an output path that is a file), at the
 * config's file:line: field; the run checks the same before it writes anything.
 * The action (reading the file and the data, running the trainer) is in actions/train.ts.
 */
import type { Command } from "commander";
import { addOutputOptions, listOption, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

const TRAINERS = ["sft", "rm", "cost", "ppo", "dpo"] as const;
export type Trainer = (typeof TRAINERS)[number];

export interface TrainFlags {
  config: string;
  out?: string;
  resume?: boolean;
  check?: boolean;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export interface PlotFlags {
  out?: string;
  metrics: string[];
  columns: number;
  json?: boolean;
  quiet?: boolean;
}

export const trainCommand: CommandModule = {
  name: "train",
  register(program: Command) {
    const cmd = program
      .command("train")
      .description("train a model: supervised fine-tuning, reward or cost model, PPO, DPO");
    for (const trainer of TRAINERS) {
      const what: Record<Trainer, string> = {
        sft: "supervised fine-tuning (prompt tokens masked, packing, eval loss)",
        rm: "reward model: Bradley–Terry with margin/centring, per-pair weights, ensembles, LM regulariser",
        cost: "Safe-RLHF cost model: preference plus safe/unsafe sign loss",
        ppo: "PPO from a policy and a reward model, with KL control, Lagrangian mode, safeguards",
        dpo: "DPO family: sigmoid, cdpo, robust (rDPO), ipo, hinge",
      };
      const sub = cmd
        .command(trainer)
        .description(what[trainer])
        .requiredOption("-c, --config <file>", "YAML config (trainer settings, out, data)")
        .option("-o, --out <dir>", "run directory (overrides the config's out)")
        .option("--resume", "continue from the run directory's latest checkpoint")
        .option(
          "--check",
          "validate the config, load its data and find the checkpoints it starts from; train nothing",
        )
        .option("--threads <n>", "ONNX Runtime threads per session", positiveInt("--threads"))
        .addHelpText(
          "after",
          `\nExample:\n  keel train ${trainer} --config examples/train-${trainer}.yaml`,
        );
      addOutputOptions(sub).action(async (o: TrainFlags) => {
        const { runTrain } = await import("../actions/train.js");
        await runTrain(trainer, o);
      });
    }
    const plot = cmd
      .command("plot <run>")
      .description(
        "draw a run's metrics.jsonl as training curves: one SVG, a panel per metric (train and eval values of a metric share one), safeguard events as rules",
      )
      .option("-o, --out <file>", "the SVG to write (default: RUN/curves.svg)")
      .addOption(
        listOption(
          "-m, --metrics <list>",
          "the panels, comma-separated (an eval row's eval_loss is the panel loss), or all",
          (v: string, acc: string[]) => [
            ...acc,
            ...v
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== ""),
          ],
          "up to 12: the main curves, no timings, counters or per-family breakdowns",
        ),
      )
      .option("--columns <n>", "panels per row", positiveInt("--columns"), 3)
      .addHelpText(
        "after",
        "\nExamples:\n  keel train plot runs/train/ppo\n" +
          "  keel train plot runs/train/rm -m loss,accuracy -o docs/img/rm.svg",
      );
    addOutputOptions(plot).action(async (run: string, o: PlotFlags) => {
      const { runTrainPlot } = await import("../actions/train-plot.js");
      await runTrainPlot(run, o);
    });
  },
};
