/** `keel demo`: the main job on the embedded default (see src/pipeline/demo.ts). */
import { join } from "node:path";
import type { Command } from "commander";
import { describeDemo, runDemo } from "../../pipeline/demo.js";
import { positiveInt } from "../common.js";
import { printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

export const demoCommand: CommandModule = {
  name: "demo",
  register(program: Command) {
    program
      .command("demo")
      .description(
        "run keel's main job on the embedded default: a simulated panel with 10% adversarial raters, undefended vs defended",
      )
      .option("--quick", "a smaller world (about half a minute)")
      .option("--out <dir>", "run directory (default runs/demo-<timestamp>)")
      .option("--seed <n>", "seed for everything random", positiveInt("--seed"), 7)
      .option("--json", "print the summary as JSON")
      .option("-q, --quiet", "no progress output")
      .action(
        async (o: {
          quick?: boolean;
          out?: string;
          seed: number;
          json?: boolean;
          quiet?: boolean;
        }) => {
          const out =
            o.out ?? join("runs", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
          const t0 = performance.now();
          const summary = await runDemo({
            out,
            quick: o.quick ?? false,
            seed: o.seed,
            onStage: (stage, detail) => {
              if (!o.quiet)
                process.stderr.write(
                  `[${((performance.now() - t0) / 1000).toFixed(1)}s] ${stage}: ${detail ?? ""}\n`,
                );
            },
          });
          if (o.json) printJson(summary);
          else printLine(describeDemo(summary));
        },
      );
  },
};
