/**
 * Training curves: a run's `metrics.jsonl` (docs/train.md) as a grid of line charts, one panel
 * per metric, step on x. A train row's `loss` and an eval row's `eval_loss` share the panel
 * `loss` (series "train" and "eval"), so held-out and training values sit on one axis; metrics
 * only one of them logs get a panel of their own. Safeguard events are drawn as vertical rules
 * on every panel. The input is plain rows (the caller reads and checks the file); non-finite
 * values are left out, as every chart here leaves them out.
 */
import { KeelError } from "../core/errors.js";
import type { VegaLiteSpec } from "./charts.js";

/** One parsed line of metrics.jsonl. */
export interface MetricsRow {
  readonly type: string;
  readonly step: number;
  readonly [key: string]: unknown;
}

export interface CurvePanel {
  readonly metric: string;
  readonly points: readonly {
    readonly series: "train" | "eval";
    readonly x: number;
    readonly y: number;
  }[];
}

/** Keys that are bookkeeping, not curves: the x axis and the epoch counter that tracks it. */
const NOT_CURVES = new Set(["type", "step", "epoch"]);

/**
 * Panels first in this order when present, then the rest in order of first appearance, then
 * timings and throughput (which follow the machine's load, not the training).
 */
const FIRST = [
  "loss",
  "accuracy",
  "margin",
  "score",
  "gold_reward",
  "kl",
  "kl_coef",
  "lambda",
  "cost",
  "response_len",
  "rt_attack_success",
  "rt_over_refusal",
  "rt_helpfulness",
  "rt_gold_quality",
];
const isTiming = (m: string) => /^t_.+_s$|_per_s$|^wall_s$/.test(m);

/** Counters that say how a step ran, not how training goes. */
const BOOKKEEPING = new Set([
  "member",
  "pairs",
  "updates",
  "epochs_run",
  "early_stop",
  "skipped_minibatches",
]);

/** How many panels a plot shows when none are named. */
export const DEFAULT_PANELS = 12;

/**
 * Every metric the rows hold at some finite step with a finite value (eval rows' `eval_` prefix
 * removed), in panel order.
 */
export function curveMetrics(rows: readonly MetricsRow[]): string[] {
  const seen: string[] = [];
  const known = new Set<string>();
  for (const row of rows) {
    const series = seriesOf(row);
    // As curvePanels reads them: a metric without one finite point would be an empty panel,
    // drawn on an axis "from NaN to NaN" (a loss that was NaN from the first step).
    if (!series || !Number.isFinite(row.step)) continue;
    for (const [key, value] of Object.entries(row)) {
      if (NOT_CURVES.has(key) || typeof value !== "number" || !Number.isFinite(value)) continue;
      const metric = metricName(key, series);
      if (!known.has(metric)) {
        known.add(metric);
        seen.push(metric);
      }
    }
  }
  const first = FIRST.filter((m) => known.has(m));
  const rest = seen.filter((m) => !FIRST.includes(m));
  return [...first, ...rest.filter((m) => !isTiming(m)), ...rest.filter(isTiming)];
}

/**
 * The panels a plot shows by default: the first DEFAULT_PANELS metrics (curveMetrics order)
 * that are not timings, step counters or per-family breakdowns (`accuracy/facts`).
 */
export function defaultCurveMetrics(rows: readonly MetricsRow[]): string[] {
  return curveMetrics(rows)
    .filter((m) => !isTiming(m) && !BOOKKEEPING.has(m) && !m.includes("/"))
    .slice(0, DEFAULT_PANELS);
}

function seriesOf(row: MetricsRow): "train" | "eval" | undefined {
  return row.type === "train" ? "train" : row.type === "eval" ? "eval" : undefined;
}

function metricName(key: string, series: "train" | "eval"): string {
  return series === "eval" && key.startsWith("eval_") ? key.slice(5) : key;
}

/**
 * The panels for `metrics`: default defaultCurveMetrics, "all" every metric (curveMetrics). A
 * named metric the rows do not hold is refused with the ones they do.
 */
export function curvePanels(
  rows: readonly MetricsRow[],
  metrics?: readonly string[] | "all",
): CurvePanel[] {
  const available = curveMetrics(rows);
  const chosen =
    metrics === undefined ? defaultCurveMetrics(rows) : metrics === "all" ? available : metrics;
  const missing = chosen.filter((m) => !available.includes(m));
  if (missing.length > 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `no metric ${missing.map((m) => JSON.stringify(m)).join(", ")} in these metrics`,
      { hint: `the metrics logged: ${available.join(", ") || "none"}` },
    );
  const panels = new Map(chosen.map((m) => [m, [] as CurvePanel["points"][number][]]));
  for (const row of rows) {
    const series = seriesOf(row);
    if (!series || !Number.isFinite(row.step)) continue;
    for (const [key, value] of Object.entries(row)) {
      if (NOT_CURVES.has(key) || typeof value !== "number" || !Number.isFinite(value)) continue;
      panels.get(metricName(key, series))?.push({ series, x: row.step, y: value });
    }
  }
  return chosen.map((metric) => ({ metric, points: panels.get(metric)! }));
}

export interface CurvesOptions {
  readonly title: string;
  /** Panels per row of the grid. */
  readonly columns?: number;
  /** Steps of the run's events (safeguard alarms, stops), drawn on every panel. */
  readonly events?: readonly { readonly step: number; readonly label: string }[];
}

const COLORS = { train: "#4c78a8", eval: "#f58518" } as const;

/** A grid of line charts, one per panel, sharing the step axis's title and the colours. */
export function curvesSpec(panels: readonly CurvePanel[], o: CurvesOptions): VegaLiteSpec {
  const columns = o.columns ?? 3;
  const events = (o.events ?? []).filter((e) => Number.isFinite(e.step));
  // One step axis for every panel, so that a step lines up across them. A loop, not
  // Math.min(...steps): spread arguments overflowed the stack at about 100,000 points.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const step = (x: number) => {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  };
  for (const p of panels) for (const q of p.points) step(q.x);
  for (const e of events) step(e.step);
  const domain = lo <= hi ? [lo, hi] : undefined;
  const charts = panels.map((p) => {
    const line = {
      data: { values: p.points.map((q) => ({ series: q.series, step: q.x, value: q.y })) },
      mark: { type: "line", point: p.points.length <= 60 },
      encoding: {
        x: {
          field: "step",
          type: "quantitative",
          title: "step",
          ...(domain ? { scale: { domain, nice: false } } : {}),
        },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          scale: { domain: Object.keys(COLORS), range: Object.values(COLORS) },
        },
      },
    };
    const rules = {
      data: { values: events.map((e) => ({ step: e.step, label: e.label })) },
      mark: { type: "rule", color: "#d62728", strokeDash: [4, 3] },
      encoding: {
        x: {
          field: "step",
          type: "quantitative",
          ...(domain ? { scale: { domain, nice: false } } : {}),
        },
      },
    };
    return {
      title: p.metric,
      width: 260,
      height: 150,
      layer: events.length > 0 ? [line, rules] : [line],
    };
  });
  const rows: unknown[] = [];
  for (let i = 0; i < charts.length; i += columns)
    rows.push({ hconcat: charts.slice(i, i + columns) });
  return { title: o.title, vconcat: rows };
}
