/** `keel demo`: the main job on the embedded default (see src/pipeline). */
import { join } from "node:path";
import type { Command } from "commander";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import { positiveInt } from "../common.js";
import { printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";
import { withInterrupt } from "./run.js";

export const demoCommand: CommandModule = {
  name: "demo",
  register(program: Command) {
    program
      .command("demo")
      .description(
        "keel's main job on the embedded default: a synthetic world whose rater panel is 10% adversarial; " +
          "train a base policy, then reward model + PPO twice, undefended and defended; red-team both; report",
      )
      .option("--quick", "smaller world and models (about 3 minutes on 2 cores)")
      .option("--out <dir>", "run directory (default runs/demo-<timestamp>)")
      .option("--seed <n>", "seed for everything random", positiveInt("--seed"), 7)
      .option("--resume", "continue an interrupted demo in --out")
      .option("--json", "print summary.json on stdout")
      .option("-q, --quiet", "no progress output")
      .addHelpText(
        "after",
        "\nWrites report.html (open it in a browser; it works offline), summary.json (metrics per arm, for CI\n" +
          "gates), run-card.json (governance), manifest.json, config.yaml and every stage's outputs.",
      )
      .action(
        async (o: {
          quick?: boolean;
          out?: string;
          seed: number;
          resume?: boolean;
          json?: boolean;
          quiet?: boolean;
        }) => {
          const out =
            o.out ?? join("runs", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
          const config = parsePipelineConfig({
            name: o.quick ? "demo-quick" : "demo",
            seed: o.seed,
            preset: o.quick ? "quick" : "demo",
          });
          const r = await withInterrupt((signal) =>
            runPipeline(config, {
              out,
              resume: o.resume ?? false,
              signal,
              events: pipelineEvents(o.quiet ?? false),
            }),
          );
          if (o.json) printJson(r.summary);
          else printLine(describeSummary(r.summary, r.runDir));
        },
      );
  },
};
