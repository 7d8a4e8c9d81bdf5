/** `keel demo`'s action: the demo (or quick) preset through the pipeline. */
import { join } from "node:path";
import { KeelError } from "../../core/errors.js";
import { parsePipelineConfig } from "../../pipeline/config.js";
import { runPipeline } from "../../pipeline/pipeline.js";
import type { DemoFlags } from "../commands/demo.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine } from "../output.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";

export async function runDemo(o: DemoFlags): Promise<void> {
  // Without --out each demo gets a new directory: --resume would start over in one.
  if (o.resume && o.out === undefined)
    throw new KeelError(
      "KEEL_E_USAGE",
      "--resume needs --out: the directory of the demo to continue",
      {
        hint: "an interrupted demo names its directory: keel demo --out DIR --resume",
      },
    );
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
  ).catch((e: unknown) => {
    throw resumeHint(e, o, out);
  });
  if (o.json) printJson(r.summary);
  else printLine(describeSummary(r.summary, r.runDir));
}

/** An interruption's hint, with the directory the demo chose when --out was not given. */
function resumeHint(e: unknown, o: DemoFlags, out: string): unknown {
  if (!(e instanceof KeelError && e.code === "KEEL_E_INTERRUPTED")) return e;
  const flags = [
    ...(o.quick ? ["--quick"] : []),
    ...(o.seed !== 7 ? ["--seed", String(o.seed)] : []),
    "--out",
    out,
    "--resume",
  ];
  return new KeelError("KEEL_E_INTERRUPTED", e.detail, {
    ...(e.where ? { where: e.where } : {}),
    hint: `continue it with: keel demo ${flags.join(" ")}`,
  });
}
