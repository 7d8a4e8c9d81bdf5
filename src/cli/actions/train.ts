/**
 * `keel train sft|rm|cost|ppo|dpo`'s action: read the YAML file (trainer config plus out, data,
 * safeguards, redteam; see commands/train.ts), gather the examples from files or a synthetic
 * world, run the trainer with a progress bar, and print the result.
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { lockRefusal } from "../../core/dir-lock.js";
import { KeelError } from "../../core/errors.js";
import { firstChange } from "../../core/first-change.js";
import { fileInTheWay } from "../../engine/checkpoint/atomic.js";
import { loadYamlConfig } from "../../io/yaml.js";
import { lockRunDir, RunDir, refuseOtherRun } from "../../pipeline/rundir.js";
import { checkCheckpointInput } from "../../train/common/inputs.js";
import { tokenizerFromFile } from "../../train/common/model.js";
import { endedAs, readMetrics, trainedArtifact } from "../../train/common/run.js";
import type { Metrics, ProgressEvent, TrainResult } from "../../train/index.js";
import type { Trainer, TrainFlags } from "../commands/train.js";
import { withInterrupt } from "../interrupt.js";
import { formatTable, printJson, printLine } from "../output.js";
import { type NamedPath, refuseInputsInOutput, TRAIN_RUN_OWNED } from "../paths-alias.js";
import { Progress } from "../progress.js";
import { explainConfigPath } from "./config-paths.js";
import { type Prepared, prepare } from "./train-prepare.js";

const SHOWN = [
  "loss",
  "eval_loss",
  "accuracy",
  "eval_accuracy",
  "score",
  "kl",
  "kl_coef",
  "gold_reward",
  "lambda",
];

function liveLine(m: Metrics): string {
  return SHOWN.filter((k) => typeof m[k] === "number")
    .map((k) => `${k} ${m[k]!.toFixed(Math.abs(m[k]!) >= 100 ? 0 : 3)}`)
    .join(" ");
}

/**
 * What the run would refuse once its record is written, refused before (by --check too): an
 * output path that cannot be a directory, a tokenizer file or checkpoint the trainer cannot
 * open as its field says (missing, a file for a directory, no tokenizer, a reward model as a
 * policy). Told at the config's line and field.
 */
function checkInputs(prep: Prepared, file: string, outFlag: boolean): void {
  const at = (field: string) => {
    const line = prep.source.lineOf?.(field.split("."));
    return { file, ...(line ? { line } : {}), field };
  };
  if (prep.out === "~" || prep.out.startsWith("~/"))
    throw new KeelError(
      "KEEL_E_CONFIG",
      `keel does not expand ~: ${prep.out} would be a directory called "~" in the directory keel runs in`,
      {
        where: outFlag ? { field: "--out" } : at("out"),
        hint: `write the full path, ${join(homedir(), prep.out.slice(1))}`,
      },
    );
  const blocking = fileInTheWay(prep.out);
  if (blocking !== undefined)
    throw new KeelError(
      "KEEL_E_FILE",
      `cannot create the directory: ${blocking} is a file, not a directory`,
      {
        where: { file: prep.out },
        hint: "choose an output path that is, or can become, a directory",
      },
    );
  if (prep.tokenizer !== undefined) tokenizerFromFile(prep.tokenizer, at("model.tokenizer.file"));
  for (const k of prep.checkpoints)
    checkCheckpointInput(k.dir, k.policy ? "policy" : (k.scores ?? "start"), at(k.field));
}

/**
 * Refuses an input the run would destroy before or while it reads it: the config file, a data
 * file, the tokenizer or a starting checkpoint that is one of the run directory's record files
 * or lies in its model/ or checkpoints/ (a new run empties metrics.jsonl, replaces config.yaml,
 * prunes checkpoints and saves its model over model/; a run that fails before its first step
 * removes its record). A resumed run keeps its config.yaml, so `-c RUN/config.yaml --resume`
 * is the way to continue it.
 */
function refuseInputsInRun(prep: Prepared, o: TrainFlags): void {
  const at = (field: string) => {
    const line = prep.source.lineOf?.(field.split("."));
    return { file: o.config, ...(line ? { line } : {}), field };
  };
  const out = { flag: o.out !== undefined ? "--out" : "out:", path: prep.out };
  const inputs: NamedPath[] = [
    ...DATA_FILES.flatMap((k) => {
      const path = prep.data[k];
      return path !== undefined ? [{ flag: `data.${k}`, path, where: at(`data.${k}`) }] : [];
    }),
    ...(prep.tokenizer !== undefined
      ? [{ flag: "model.tokenizer.file", path: prep.tokenizer, where: at("model.tokenizer.file") }]
      : []),
    ...prep.checkpoints.map((k) => ({ flag: k.field, path: k.dir, where: at(k.field) })),
  ];
  refuseInputsInOutput(out, inputs, TRAIN_RUN_OWNED, "the run");
  const config = [{ flag: "--config", path: o.config }];
  // Only a run that began (its manifest.json written) keeps its config.yaml when resumed; with
  // none, --resume starts a new run, which writes its resolved config over that file.
  const keeps = o.resume === true && existsSync(join(prep.out, "manifest.json"));
  refuseInputsInOutput(
    out,
    config,
    keeps ? { ...TRAIN_RUN_OWNED, files: ["manifest.json", "metrics.jsonl"] } : TRAIN_RUN_OWNED,
    keeps ? "the run" : "a new run",
    keeps
      ? undefined
      : o.resume
        ? "no run began there (it holds no manifest.json), so --resume starts a new one: copy the config out of the run directory, or give another --out"
        : "to continue the run recorded there, pass --resume; to start a new one, copy the config out of the run directory or give another --out",
  );
}

/** `--check`: everything up to training. */
function reportCheck(trainer: Trainer, file: string, prep: Prepared, json: boolean): void {
  const what = trainer === "ppo" ? "prompts" : "examples";
  if (json) {
    printJson({
      trainer,
      config: file,
      out: prep.out,
      ...prep.counts,
      checkpoints: prep.checkpoints,
    });
    return;
  }
  printLine(
    `${file}: valid ${trainer} config; ${prep.counts.train} training ${what}, ${prep.counts.eval} evaluation ${what}; out ${prep.out}`,
  );
  for (const k of prep.checkpoints) printLine(`  ${k.field}: ${k.dir}`);
}

export async function runTrain(trainer: Trainer, o: TrainFlags): Promise<void> {
  try {
    await train(trainer, o);
  } catch (e) {
    throw explainConfigPath(e, o.config);
  }
}

/** Data fields that name files the run reads. */
const DATA_FILES = ["train", "eval", "weights", "prompts", "eval_prompts", "world"] as const;

/**
 * The run directory's record (pipeline/rundir.ts): `manifest.json` with versions, seeds and the
 * SHA-256 of every data file and starting checkpoint, and `config.yaml`, the resolved config. A
 * resumed run keeps its record and must read the same inputs.
 */
function recordRun(trainer: Trainer, prep: Prepared, resume: boolean): RunDir {
  const seeds: Record<string, number> = { seed: prep.config.seed };
  if (prep.data.world_seed !== undefined) seeds.world_seed = prep.data.world_seed;
  return RunDir.open(
    prep.out,
    seeds,
    (run) => {
      for (const k of DATA_FILES) {
        const path = prep.data[k];
        if (path !== undefined && existsSync(path)) run.recordInput(`data.${k}`, path);
      }
      for (const k of prep.checkpoints) run.recordCheckpoint(k.field, k.dir);
    },
    resume,
    `train ${trainer}`,
  );
}

/**
 * A resumed run must go on under the config it began with. The trainer's checkpoint carries a
 * hash of the trainer's own settings only, and the manifest the hashes of the files read; a
 * changed data block (a world's seed, eval_count, a prompt split) or PPO's safeguards would
 * otherwise be mixed into the run without a word, while config.yaml still showed the old ones.
 * The output directory may move.
 */
async function checkSameConfig(path: string, now: Record<string, unknown>): Promise<void> {
  const { out: _wasOut, ...before } = (await loadYamlConfig(path)).raw;
  const { out: _nowOut, ...after } = JSON.parse(JSON.stringify(now)) as Record<string, unknown>;
  const d = firstChange(before, after);
  if (!d) return;
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
  throw new KeelError(
    "KEEL_E_CONFIG",
    `cannot resume: ${d.field} changed since the run began (${show(d.was)} then, ${show(d.now)} now)`,
    {
      where: { file: path, field: d.field },
      hint: "resume with the config the run began with, or start a new run in a fresh output directory",
    },
  );
}

/**
 * Refuses an output directory that holds another kind of run, a run a new one would overwrite,
 * or (with --resume) a run that is complete.
 */
function refuseOut(trainer: Trainer, o: TrainFlags, out: string): void {
  refuseOtherRun(out, `train ${trainer}`);
  const held = trainedArtifact(out);
  if (!o.resume && held !== undefined)
    throw new KeelError("KEEL_E_USAGE", `${out} already holds a run (${held})`, {
      hint: "pass --resume to continue it, or give another output directory (out: or --out)",
    });
  if (o.resume && endedAs(out) === "completed")
    throw new KeelError(
      "KEEL_E_USAGE",
      `the run in ${out} is complete (metrics.jsonl ends with its summary); there is nothing to resume`,
      { hint: "its model is in model/; to train again, give another output directory" },
    );
}

async function train(trainer: Trainer, o: TrainFlags): Promise<void> {
  const prep = await prepare(trainer, o.config, o.out);
  // --check refuses what the run would refuse: its output directory is checked first.
  if (o.check) {
    const busy = lockRefusal(prep.out);
    if (busy) throw busy;
    refuseOut(trainer, o, prep.out);
    refuseInputsInRun(prep, o);
    checkInputs(prep, o.config, o.out !== undefined);
    return reportCheck(trainer, o.config, prep, o.json === true);
  }
  // A run that another keel command is writing is refused by the lock, before what that run
  // holds so far is judged; the directory is judged under the lock.
  refuseOtherRun(prep.out, `train ${trainer}`);
  // Before the lock makes the directory: an input its run would destroy leaves it untouched.
  refuseInputsInRun(prep, o);
  checkInputs(prep, o.config, o.out !== undefined);
  const existed = existsSync(prep.out);
  // Ctrl-C or SIGTERM (a scheduler's stop) ends the current step and saves a checkpoint; the
  // lock goes as the command unwinds (withInterrupt's second Ctrl-C exits: dir-lock.ts).
  await withInterrupt(async (signal) => {
    const lock = lockRunDir(prep.out);
    try {
      refuseOut(trainer, o, prep.out);
      try {
        await trainRecorded(trainer, o, prep, signal);
      } catch (e) {
        if (!o.resume) removeUnstarted(prep.out, existed);
        throw e;
      }
    } finally {
      lock.release();
    }
  });
}

/** What a new run writes before its first step. */
const RECORD_FILES = ["config.yaml", "manifest.json", "metrics.jsonl"];

/**
 * After a new run failed before its first step (on an input only its trainer could judge: a
 * reference with another tokenizer, too few prompts for a batch), removes the record it wrote,
 * and the directory when the run made it: a run directory that holds a config and a manifest
 * says a run was made from them.
 */
function removeUnstarted(out: string, existed: boolean): void {
  // A run the loop ended with a failed summary and nothing before it made no step either.
  if (trainedArtifact(out) !== undefined || readMetrics(out).some((r) => r.type !== "summary"))
    return;
  for (const f of RECORD_FILES) rmSync(join(out, f), { force: true });
  for (const dir of [join(out, "checkpoints"), ...(existed ? [] : [out])]) {
    try {
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // not there, or not ours to remove
    }
  }
}

async function trainRecorded(
  trainer: Trainer,
  o: TrainFlags,
  prep: Prepared,
  signal: AbortSignal,
): Promise<void> {
  const record = recordRun(trainer, prep, o.resume === true);
  const resolved = { trainer, out: prep.out, data: prep.data, ...prep.config };
  const recorded = record.file("config.yaml");
  if (o.resume && existsSync(recorded)) await checkSameConfig(recorded, resolved);
  await record.saveManifest();
  if (!o.resume || !existsSync(recorded)) await record.writeYaml("config.yaml", resolved);
  const bar = new Progress({
    label: `train ${trainer}`,
    unit: "steps",
    enabled: o.quiet || o.json ? false : undefined,
  });
  // The latest training metrics, then the latest evaluation's after a bar; the final line
  // keeps both.
  let trainLine = "";
  let evalLine = "";
  const shown = () => [trainLine, evalLine].filter(Boolean).join(" | ");
  const onProgress = (e: ProgressEvent) => {
    bar.setTotal(e.total);
    if (e.phase === "eval") evalLine = liveLine(e.metrics);
    else trainLine = liveLine(e.metrics);
    bar.update(e.step, shown());
  };
  const res: TrainResult = await record.stage(o.resume ? "train (resumed)" : "train", () =>
    prep.run({
      outDir: prep.out,
      onProgress,
      signal,
      ...(o.resume ? { resume: true } : {}),
      ...(o.threads ? { threads: o.threads } : {}),
    }),
  );
  bar.finish(shown());
  const summary = {
    trainer,
    status: res.status,
    steps: res.steps,
    seconds: res.seconds,
    checkpoint: res.checkpoint ?? null,
    out: prep.out,
    metrics: res.metrics,
    events: res.events,
  };
  if (o.json) printJson(summary);
  else {
    printLine(
      `${trainer}: ${res.status} after ${res.steps} steps in ${res.seconds.toFixed(1)} s; model: ${res.checkpoint ?? "(none)"}`,
    );
    // Timings stay in metrics.jsonl; an ensemble's member index only when there are several.
    const keys = Object.keys(res.metrics).filter(
      (k) => !k.startsWith("t_") && !(k === "member" && res.metrics.member === 0),
    );
    printLine(
      formatTable(
        ["metric", "value"],
        // NaN is a rate over nothing (a red-team suite with no probe): "–", not "NaN".
        keys.map((k) => {
          const v = res.metrics[k]!;
          return [k, Number.isNaN(v) ? "–" : Number(v.toPrecision(5))];
        }),
      ),
    );
    for (const e of res.events)
      printLine(`event [${e.severity}] step ${e.step} ${e.source}: ${e.message}`);
  }
  if (res.status === "aborted")
    throw new KeelError("KEEL_E_INTERRUPTED", `${trainer} interrupted at step ${res.steps}`, {
      hint: "continue with --resume",
    });
  const stop = res.events.find((e) => e.severity === "stop");
  if (res.status === "stopped")
    throw new KeelError(
      "KEEL_E_SAFEGUARD",
      `${stop?.source ?? "a safeguard"} stopped ${trainer} at step ${res.steps}: ${stop?.message ?? ""}`,
      {
        hint: "the model at the stop is in the run directory; see the events in metrics.jsonl",
      },
    );
}
