/** `keel run --config pipeline.yaml`: the pipeline from a YAML config (docs/pipeline.md). */
import type { Command } from "commander";
import { loadYamlConfig } from "../../io/yaml.js";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import { printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";

/** Runs `fn` with an abort signal that the first Ctrl-C (SIGINT) or SIGTERM raises. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = () => {
    if (!ac.signal.aborted)
      process.stderr.write("\nkeel: stopping after the current step (a checkpoint is saved)…\n");
    ac.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    return await fn(ac.signal);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export const runCommand: CommandModule = {
  name: "run",
  register(program: Command) {
    program
      .command("run")
      .description(
        "run the secure RLHF pipeline from a YAML config: world or data → collect → audit → reward model → PPO/DPO → evaluate → red-team → report",
      )
      .requiredOption(
        "-c, --config <file>",
        "pipeline config (YAML; see docs/pipeline.md and examples/pipeline.yaml)",
      )
      .requiredOption("-o, --out <dir>", "run directory")
      .option("--resume", "continue an interrupted run in --out (finished stages are kept)")
      .option("--json", "print summary.json on stdout")
      .option("-q, --quiet", "no progress output")
      .action(
        async (o: {
          config: string;
          out: string;
          resume?: boolean;
          json?: boolean;
          quiet?: boolean;
        }) => {
          const { raw, source } = await loadYamlConfig(o.config);
          const config = parsePipelineConfig(raw, source);
          const r = await withInterrupt((signal) =>
            runPipeline(config, {
              out: o.out,
              resume: o.resume ?? false,
              signal,
              source,
              events: pipelineEvents(o.quiet ?? false),
            }),
          );
          if (o.json) printJson(r.summary);
          else printLine(describeSummary(r.summary, r.runDir));
        },
      );
  },
};
