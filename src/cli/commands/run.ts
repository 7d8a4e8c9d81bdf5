/** `keel run --config pipeline.yaml`: the pipeline from a YAML config (docs/pipeline.md). */
import type { Command } from "commander";
import type { CommandModule } from "../registry.js";

export interface RunFlags {
  config: string;
  out: string;
  resume?: boolean;
  check?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export const runCommand: CommandModule = {
  name: "run",
  register(program: Command) {
    program
      .command("run")
      .description(
        "run the secure RLHF pipeline from a YAML config: world → [generate candidates] → collect → audit → reward model → PPO/DPO → evaluate → red-team → report",
      )
      .requiredOption(
        "-c, --config <file>",
        "pipeline config (YAML; see docs/pipeline.md and examples/pipeline.yaml)",
      )
      .requiredOption("-o, --out <dir>", "run directory")
      .option("--resume", "continue an interrupted run in --out (finished stages are kept)")
      .option(
        "--check",
        "validate the config (every stage's trainer settings included) and list the stages; run nothing",
      )
      .option("--json", "print summary.json on stdout")
      .option("-q, --quiet", "no progress output")
      .action(async (o: RunFlags) => {
        const { runRun } = await import("../actions/run.js");
        await runRun(o);
      });
  },
};
