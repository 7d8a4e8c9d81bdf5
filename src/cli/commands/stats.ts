/** `keel stats`: what is in the store — counts per rater, per prompt, and the choice balance. */
import type { Command } from "commander";
import { addDbOption, addOutputOptions, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface StatsFlags {
  db: string;
  top: number;
  by?: string;
  json?: boolean;
}

export const statsCommand: CommandModule = {
  name: "stats",
  register(program: Command) {
    const cmd = program
      .command("stats")
      .description("counts per rater and per prompt, and the balance of choices")
      .option(
        "--top <n>",
        "show the n most-judged prompts and most active raters (--json lists them all)",
        positiveInt("--top"),
        10,
      )
      .option(
        "--by <attribute>",
        "also group the raters by one of their attributes (locale, cohort, …: keel import --format raters): raters, judgments, choices and gold accuracy per value",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  keel stats --db keel.db\n  keel stats --by cohort --json",
      );
    addOutputOptions(addDbOption(cmd)).action(async (o: StatsFlags) => {
      const { runStats } = await import("../actions/stats.js");
      await runStats(o);
    });
  },
};
