/** `keel demo`: the main job on the embedded default (see src/pipeline). */
import type { Command } from "commander";
import { nonNegativeInt } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface DemoFlags {
  quick?: boolean;
  out?: string;
  seed: number;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export const demoCommand: CommandModule = {
  name: "demo",
  register(program: Command) {
    program
      .command("demo")
      .description(
        "keel's main job on the embedded default: a synthetic world whose rater panel is 10% adversarial; " +
          "train a base policy, then reward model + PPO twice, undefended and defended; red-team both; report",
      )
      .option(
        "--quick",
        "smaller world and models: 1–2 minutes on 2 cores, against 3 or more for the full demo",
      )
      .option("--out <dir>", "run directory (default runs/demo-<timestamp>)")
      .option("--seed <n>", "seed for everything random", nonNegativeInt("--seed"), 7)
      .option("--resume", "continue an interrupted demo in --out")
      .option("--json", "print summary.json on stdout")
      .option("-q, --quiet", "no progress output")
      .addHelpText(
        "after",
        "\nWrites report.html (open it in a browser; it works offline), summary.json (metrics per arm, for CI\n" +
          "gates), run-card.json (governance), manifest.json, config.yaml and every stage's outputs.",
      )
      .action(async (o: DemoFlags) => {
        const { runDemo } = await import("../actions/demo.js");
        await runDemo(o);
      });
  },
};
