/** `keel run`'s action: load the YAML config and run the pipeline until done or interrupted. */
import { loadYamlConfig } from "../../io/yaml.js";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import type { RunFlags } from "../commands/run.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine } from "../output.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";

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
