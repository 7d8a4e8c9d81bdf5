/**
 * `keel train plot RUN`: a run's metrics.jsonl as training curves (one SVG, a panel per
 * metric; see src/report/curves.ts). RUN is a run directory or a metrics.jsonl file; the SVG
 * goes to RUN/curves.svg unless --out says otherwise.
 */
import { statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { KeelError, type Where } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { parseRecord } from "../../core/schemas.js";
import { writeFileAtomic } from "../../io/files.js";
import type { MetricsRow } from "../../report/curves.js";
import type { PlotFlags } from "../commands/train.js";
import { printJson, printLine } from "../output.js";
import { ownedPlaceOf, TRAIN_RUN_OWNED } from "../paths-alias.js";
import { readJsonl } from "./pair-files.js";

const Row = z.object({ type: z.string(), step: z.number().finite().nonnegative() }).passthrough();

/** The metrics file of `target`: the file itself, or metrics.jsonl in a run directory. */
function metricsFile(target: string): string {
  let dir = false;
  try {
    dir = statSync(target).isDirectory();
  } catch {
    throw new KeelError("KEEL_E_NOT_FOUND", "no such run directory or metrics file", {
      where: { file: target },
      hint: "give a run directory (the config's out) or its metrics.jsonl",
    });
  }
  return dir ? join(target, "metrics.jsonl") : target;
}

export async function runTrainPlot(target: string, o: PlotFlags): Promise<void> {
  const { curveMetrics, curvePanels, curvesSpec } = await import("../../report/curves.js");
  const { vegaLiteToSvg } = await import("../../report/charts.js");
  const file = metricsFile(target);
  const rows = readJsonl(
    file,
    (v: unknown, where: Where) => parseRecord(Row, v, where) as MetricsRow,
  );
  if (!rows.some((r) => r.type === "train" || r.type === "eval"))
    throw new KeelError("KEEL_E_INVALID_RECORD", "no train or eval rows to plot", {
      where: { file },
      hint: "a run writes them every run.log_every and run.eval_every steps",
    });
  const out = o.out ?? join(dirname(file), "curves.svg");
  // The run's record and models beside its metrics.jsonl: a plot written over one of them
  // (-o RUN/manifest.json, -o RUN/model/config.json) would destroy the run it plots.
  // (metrics.jsonl itself is protected as the file being read, below)
  const place = ownedPlaceOf(out, dirname(file), {
    files: TRAIN_RUN_OWNED.files.filter((f) => f !== "metrics.jsonl"),
    dirs: TRAIN_RUN_OWNED.dirs,
  });
  if (place !== undefined && basename(file) === "metrics.jsonl")
    throw new KeelError(
      "KEEL_E_USAGE",
      `--out ${out} is ${place.endsWith("/") ? "inside " : ""}${join(dirname(file), place)}, part of the run being plotted: the plot would overwrite it`,
      { hint: "write the plot elsewhere (the default is curves.svg beside metrics.jsonl)" },
    );
  const all = o.metrics.length === 1 && o.metrics[0] === "all";
  const panels = curvePanels(rows, all ? "all" : o.metrics.length > 0 ? o.metrics : undefined);
  const logged = curveMetrics(rows).length;
  const events = rows
    .filter((r) => r.type === "event")
    .map((r) => ({ step: r.step, label: String(r.source ?? "event") }));
  const run = basename(dirname(file)) || file;
  const svg = await vegaLiteToSvg(
    curvesSpec(panels, { title: `${run}: training curves`, events, columns: o.columns }),
  );
  await writeFileAtomic(out, svg, {
    protect: [{ path: file, what: "the metrics file being read" }],
  });
  const points = panels.reduce((n, p) => n + p.points.length, 0);
  if (o.json)
    printJson({
      out,
      metrics: panels.map((p) => p.metric),
      points,
      events: events.length,
      metrics_logged: logged,
    });
  else if (!o.quiet)
    printLine(
      `wrote ${shown(out)}: ${panels.length} panels (${panels.map((p) => shown(p.metric)).join(", ")}), ${points} points${events.length > 0 ? `, ${events.length} events` : ""}${logged > panels.length ? `; ${logged - panels.length} more metrics logged (-m all, or -m NAME,…)` : ""}`,
    );
}

/**
 * A metric name (any JSON key of the metrics file) or a path, fit for one terminal line: escape
 * sequences and bidirectional overrides written as \u escapes (see printable), a line break or
 * tab as \n or \t.
 */
function shown(text: string): string {
  return printable(text).replace(/[\t\n]/g, (c) => (c === "\n" ? "\\n" : "\\t"));
}
