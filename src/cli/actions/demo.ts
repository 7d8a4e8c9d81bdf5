/** `keel demo`'s action: the demo (or quick) preset through the pipeline. */
import { join } from "node:path";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import type { DemoFlags } from "../commands/demo.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine } from "../output.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";

export async function runDemo(o: DemoFlags): Promise<void> {
  const out = o.out ?? join("runs", `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
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
}
