/** `keel run`'s action: load the YAML config and run the pipeline until done or interrupted. */
import { resolve } from "node:path";
import type { ConfigSource } from "../../core/config.js";
import { lockRefusal } from "../../core/dir-lock.js";
import { KeelError } from "../../core/errors.js";
import { loadYamlConfig } from "../../io/yaml.js";
import { type PipelineConfig, parsePipelineConfig } from "../../pipeline/config.js";
import {
  checkPipelineInputs,
  checkRunDir,
  pipelineStages,
  runPipeline,
} from "../../pipeline/pipeline.js";
import { aRun, enclosingRun, foreignContents, heldRunKind } from "../../pipeline/rundir.js";
import type { RunFlags } from "../commands/run.js";
import { withInterrupt } from "../interrupt.js";
import { printJson, printLine } from "../output.js";
import { explainConfigPath } from "./config-paths.js";
import { describeSummary, pipelineEvents } from "./pipeline-ui.js";

export async function runRun(o: RunFlags): Promise<void> {
  try {
    await run(o);
  } catch (e) {
    throw explainConfigPath(e, o.config);
  }
}

async function run(o: RunFlags): Promise<void> {
  const { raw, source } = await loadYamlConfig(o.config);
  const config = parsePipelineConfig(raw, source);
  if (o.check) return reportCheck(o, config, source);
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

/**
 * `--check`: the whole plan is resolved (each stage's trainer config parsed with the file's
 * line numbers), every file and checkpoint the config names must be there, and the stages are
 * listed. Nothing is written. Where the run would go is reported (`refused` in --json): a
 * directory the run would refuse, or a run there that --resume would continue.
 */
function reportCheck(o: RunFlags, config: PipelineConfig, source: ConfigSource): void {
  const stages = pipelineStages(config, resolve(o.out), source);
  checkPipelineInputs(config, source);
  const out = outVerdict(o, config, source);
  const total = stages.reduce((a, s) => a + s.weight, 0) || 1;
  const rows = stages.map((s) => ({
    key: s.key,
    title: s.title,
    after: [...s.after],
    share: s.weight / total,
  }));
  if (o.json) {
    printJson({
      config: o.config,
      out: o.out,
      existing_run: heldRunKind(o.out) !== undefined,
      refused: out.refused ? out.line : null,
      stages: rows,
    });
    return;
  }
  printLine(
    `${o.config}: valid pipeline config; ${rows.length} stages into ${o.out} (share of the run's time, what)`,
  );
  const w = Math.max(...rows.map((r) => r.key.length));
  for (const r of rows)
    printLine(`  ${r.key.padEnd(w)}  ${`${Math.round(r.share * 100)}%`.padStart(4)}  ${r.title}`);
  if (out.line !== undefined) printLine(out.line);
}

/** What the run would find at --out: a reason it would be refused, or a run --resume continues. */
function outVerdict(
  o: RunFlags,
  config: PipelineConfig,
  source: ConfigSource,
): { refused: boolean; line?: string } {
  // A config error (a file it reads inside --out) fails the check; where the run would go is
  // only reported.
  // A run another keel command is writing now: this one would be refused by its lock.
  const busy = lockRefusal(o.out);
  if (busy) return { refused: true, line: busy.message };
  let refusal: string | undefined;
  try {
    checkRunDir(config, o.out, true, source);
  } catch (e) {
    if (!(e instanceof KeelError && e.code === "KEEL_E_USAGE")) throw e;
    refusal = e.message;
  }
  const held = heldRunKind(o.out);
  const foreign = foreignContents(o.out);
  if ((held === "pipeline" || enclosingRun(o.out) !== undefined) && refusal !== undefined)
    return { refused: true, line: refusal };
  if (held === "pipeline" && o.resume)
    return {
      refused: false,
      line: `${o.out} holds a run: --resume continues it, keeping each finished stage whose settings and outputs are unchanged`,
    };
  if (held === "pipeline")
    return {
      refused: true,
      line: `${o.out} already holds a run: pass --resume to continue it, or choose another --out`,
    };
  if (foreign !== undefined)
    return {
      refused: true,
      line: `${o.out} holds ${foreign}, not a keel run: choose another --out`,
    };
  if (held !== undefined)
    return {
      refused: true,
      line: `${o.out} already holds ${held === "unknown" ? "another kind of run" : aRun(held)}: choose another --out`,
    };
  return { refused: false };
}
