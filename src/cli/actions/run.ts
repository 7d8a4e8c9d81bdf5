/** `keel run`'s action: load the YAML config and run the pipeline until done or interrupted. */
import { loadYamlConfig } from "../../io/yaml.js";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import type { RunFlags } from "../commands/run.js";
import { printJson, printLine } from "../output.js";
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

export async function runRun(o: RunFlags): Promise<void> {
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
}
