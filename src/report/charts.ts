/**
 * Charts: Vega-Lite specs rendered to inline SVG in Node (vega-lite compiles to a Vega spec,
 * vega renders it headless with `toSVG`). No canvas, no browser, no network: the loader refuses
 * every URL, so a spec can only show the data given inline. Vega escapes the text it draws; the
 * SVG is checked for script anyway before it is marked safe.
 *
 * Helpers build the specs the reports need: a histogram, a bar chart, a heatmap. They leave out
 * values that are not finite numbers: Vega draws them as "NaN" axes and paths, or, for a
 * histogram without an extent, turns the whole chart into NaN.
 */
import { createHash } from "node:crypto";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { KeelError } from "../core/errors.js";
import { type SafeHtml, trusted, visibleControls } from "./html.js";

export type VegaLiteSpec = Record<string, unknown>;

const NO_LOADING = (() => {
  const loader = vega.loader();
  const refuse = async (uri: string): Promise<never> => {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `a report chart may not load ${JSON.stringify(uri)}: give data inline`,
    );
  };
  loader.load = refuse;
  loader.sanitize = refuse;
  return loader;
})();

const BASE_CONFIG = {
  font: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eef0f4" },
};

/** Colour per series or group value, in this order (legend order too). */
export type SeriesColors = Readonly<Record<string, string>>;

/** A nominal colour channel on `field`, with fixed colours when given. */
function colorOf(field: string, colors: SeriesColors | undefined): Record<string, unknown> {
  return {
    field,
    type: "nominal",
    title: null,
    ...(colors ? { scale: { domain: Object.keys(colors), range: Object.values(colors) } } : {}),
  };
}

/**
 * Each name's place in the colours' order (names without a colour after them), for the data's
 * `ci` field. Stacks and bars follow the colours through this index: left to Vega-Lite, the
 * order becomes a list of the names inside a Vega expression, where a series or group named
 * "constructor" or "toString" failed the chart, as the heatmap's labels once did.
 */
function colorIndex(colors: SeriesColors | undefined): (name: string) => number {
  const order = new Map(Object.keys(colors ?? {}).map((k, i) => [k, i]));
  return (name) => order.get(name) ?? order.size;
}

/** Stacks in the colours' order (the first colour on top, as Vega-Lite stacks by default). */
const STACK_BY_COLOR = { order: { field: "ci", sort: "descending" } } as const;

/** Renders a Vega-Lite spec (data inline) to an SVG string. */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const full = {
    config: BASE_CONFIG,
    ...(plainSeparators(spec) as VegaLiteSpec),
  } as unknown as vegaLite.TopLevelSpec;
  const compiled = drawing(spec, () => vegaLite.compile(full).spec);
  for (const d of compiled.data ?? []) {
    if ("url" in d && d.url !== undefined) {
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        `a report chart may not load ${JSON.stringify(String(d.url))}: give data inline`,
      );
    }
  }
  const view = drawing(
    spec,
    () => new vega.View(vega.parse(compiled), { renderer: "none", loader: NO_LOADING }),
  );
  try {
    const svg = await drawing(spec, () => view.toSVG());
    // Text and attribute values are escaped by vega, so "<" only opens real tags and quotes
    // delimit values: with the quoted values removed, look for script or event handlers.
    // Report charts draw no links, so any href (a javascript: URL, entity-encoded or not) is
    // refused. Text content that merely reads "javascript:" (a rater's id) is harmless.
    const bare = svg.replace(/"[^"]*"/g, '""');
    if (/<script|<[^>]*\son\w+\s*=|<[^>]*\s(?:xlink:)?href\s*=/i.test(bare)) {
      throw new KeelError("KEEL_E_INTERNAL", "chart SVG contains script; refusing to embed it");
    }
    return stableDefIds(svg);
  } finally {
    view.finalize();
  }
}

/**
 * Vega and Vega-Lite fail with plain errors (a TypeError from deep inside, "Operator not
 * defined: undefined"), which reached the user as an internal error with a stack trace and no
 * word of which chart failed. They are a fault of the spec we built, so they stay internal, but
 * say which chart and keep the library's message (clipped: it may quote a whole expression).
 */
function drawing<T>(spec: VegaLiteSpec, step: () => T): T {
  const fail = (e: unknown): never => {
    if (e instanceof KeelError) throw e;
    const title = typeof spec.title === "string" ? ` ${JSON.stringify(spec.title)}` : "";
    const why = (e instanceof Error ? e.message : String(e)).slice(0, 300);
    throw new KeelError("KEEL_E_INTERNAL", `could not draw the report chart${title}: ${why}`, {
      cause: e,
      hint: "a bug in keel's report, not in the results (keel audit: without --report, the JSON is written)",
    });
  };
  try {
    const out = step();
    return (out instanceof Promise ? out.catch(fail) : out) as T;
  } catch (e) {
    return fail(e);
  }
}

/**
 * Vega numbers gradients and clip paths with process-wide counters, so a chart's ids depended
 * on what the process had drawn before (a sweep's second audit.html differed from the same
 * run's alone). The ids are renamed after a hash of the chart: the same chart gets the same
 * ids, and two charts on one page stay apart unless they are identical. Only whole values of
 * id, fill, stroke and clip-path inside tags are touched (vega escapes "<", ">" and quotes in
 * values), never drawn text, which may read anything.
 */
const DEF_REF = / (id|fill|stroke|clip-path)="(url\(#)?((?:p_)?gradient_|clip)(\d+)(\)?)"/g;
function stableDefIds(svg: string): string {
  type Rename = (kind: string, n: string) => string;
  const rename = (f: Rename) =>
    svg.replace(/<[^>]*>/g, (tag) =>
      tag.replace(
        DEF_REF,
        (_, attr, url = "", kind, n, close) => ` ${attr}="${url}${f(kind, n)}${close}"`,
      ),
    );
  const hash = createHash("sha256")
    .update(rename((kind) => kind))
    .digest("hex")
    .slice(0, 12);
  const ids = new Map<string, string>();
  return rename((kind, n) => {
    if (!ids.has(kind + n)) ids.set(kind + n, `${kind}${hash}-${ids.size}`);
    return ids.get(kind + n)!;
  });
}

/**
 * Vega-Lite writes sort orders and labels into Vega expressions with JSON.stringify, which
 * leaves U+2028 and U+2029 as they are, and Vega's expression parser refuses them: one rater id
 * holding either made the whole report fail. Axis and legend titles go into the charts'
 * descriptions unescaped, where a line break failed the same way. Drawn, all are spaces anyway.
 * Bidirectional overrides are drawn as `\u202e` escapes, as in the page's text (html.ts): an
 * arm, suite or run directory named with one otherwise read as other text in the chart.
 */
function plainSeparators(value: unknown): unknown {
  if (typeof value === "string") return visibleControls(value.replace(/[\r\n\u2028\u2029]/g, " "));
  if (Array.isArray(value)) return value.map(plainSeparators);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainSeparators(v)]));
  return value;
}

/** A chart as safe markup for a page. */
export async function chart(spec: VegaLiteSpec): Promise<SafeHtml> {
  return trusted(`<div class="chart">${await vegaLiteToSvg(spec)}</div>`);
}

export interface HistogramOptions {
  readonly values: readonly number[];
  readonly title: string;
  readonly xTitle: string;
  readonly bins?: number;
  /** Optional category per value, stacked in colour. */
  readonly groups?: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly extent?: readonly [number, number];
  /** Colour per group value, in this order (legend order too). */
  readonly colors?: SeriesColors;
}

export function histogramSpec(o: HistogramOptions): VegaLiteSpec {
  const ci = colorIndex(o.colors);
  const values = o.values
    .map((v, i) => ({ v, g: o.groups?.[i] ?? "", ci: ci(o.groups?.[i] ?? "") }))
    .filter((x) => Number.isFinite(x.v));
  return {
    title: o.title,
    width: o.width ?? 520,
    height: o.height ?? 180,
    data: { values },
    mark: { type: "bar", tooltip: false },
    encoding: {
      x: {
        field: "v",
        type: "quantitative",
        bin: { maxbins: o.bins ?? 20, ...(o.extent ? { extent: o.extent } : {}) },
        title: o.xTitle,
      },
      y: { aggregate: "count", type: "quantitative", title: "count" },
      ...(o.groups ? { color: colorOf("g", o.colors), ...STACK_BY_COLOR } : {}),
    },
  };
}

export interface HeatmapOptions {
  readonly labels: readonly string[];
  /** [row][col], null for no data. */
  readonly values: readonly (readonly (number | null)[])[];
  readonly title: string;
  readonly legend: string;
  readonly domain?: readonly [number, number];
  readonly cell?: number;
}

export function heatmapSpec(o: HeatmapOptions): VegaLiteSpec {
  // Rows and columns keep the labels' order through their indices (ri, ci), not a sort list
  // of the labels: Vega-Lite writes such a list into a Vega expression, where a rater named
  // "constructor" or "toString" became an undefined signal and failed the whole report.
  const first = new Map<string, number>();
  o.labels.forEach((l, i) => {
    if (!first.has(l)) first.set(l, i);
  });
  const cells: { r: string; c: string; ri: number; ci: number; v: number }[] = [];
  o.values.forEach((row, i) => {
    row.forEach((v, j) => {
      const r = o.labels[i]!;
      const c = o.labels[j]!;
      if (v !== null && Number.isFinite(v))
        cells.push({ r, c, ri: first.get(r)!, ci: first.get(c)!, v });
    });
  });
  const size = (o.cell ?? 14) * Math.max(1, o.labels.length);
  return {
    title: o.title,
    width: size,
    height: size,
    data: { values: cells },
    mark: "rect",
    encoding: {
      x: {
        field: "c",
        type: "nominal",
        sort: { field: "ci", op: "min" },
        title: null,
        axis: { labelAngle: -60 },
      },
      y: { field: "r", type: "nominal", sort: { field: "ri", op: "min" }, title: null },
      color: {
        field: "v",
        type: "quantitative",
        title: o.legend,
        scale: { scheme: "viridis", ...(o.domain ? { domain: [...o.domain] } : {}) },
      },
    },
  };
}

export interface BarOptions {
  readonly rows: readonly {
    readonly label: string;
    readonly value: number;
    readonly group?: string;
  }[];
  readonly title: string;
  readonly xTitle: string;
  readonly width?: number;
  readonly colors?: SeriesColors;
}

export function barSpec(o: BarOptions): VegaLiteSpec {
  const ci = colorIndex(o.colors);
  return {
    title: o.title,
    width: o.width ?? 420,
    data: {
      values: o.rows
        .filter((r) => Number.isFinite(r.value))
        .map((r) => ({
          label: r.label,
          value: r.value,
          group: r.group ?? "",
          ci: ci(r.group ?? ""),
        })),
    },
    mark: "bar",
    encoding: {
      y: { field: "label", type: "nominal", sort: "-x", title: null },
      x: { field: "value", type: "quantitative", title: o.xTitle },
      ...(o.rows.some((r) => r.group)
        ? { color: colorOf("group", o.colors), ...STACK_BY_COLOR }
        : {}),
    },
  };
}

export interface LineOptions {
  /** One point per (series, x). */
  readonly points: readonly { readonly series: string; readonly x: number; readonly y: number }[];
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly width?: number;
  readonly height?: number;
  readonly colors?: SeriesColors;
}

export function lineSpec(o: LineOptions): VegaLiteSpec {
  return {
    title: o.title,
    width: o.width ?? 420,
    height: o.height ?? 200,
    data: {
      values: o.points
        .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
        .map((p) => ({ series: p.series, x: p.x, y: p.y })),
    },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: o.xTitle },
      y: { field: "y", type: "quantitative", title: o.yTitle, scale: { zero: false } },
      color: colorOf("series", o.colors),
    },
  };
}

export interface GroupedBarOptions {
  readonly rows: readonly {
    readonly category: string;
    readonly group: string;
    readonly value: number;
  }[];
  readonly title: string;
  readonly yTitle: string;
  readonly width?: number;
  readonly domain?: readonly [number, number];
  readonly colors?: SeriesColors;
}

/**
 * Bars per category, one per group side by side (e.g. metrics per arm). A category's name is
 * its column's header, one word per line, so that long names do not run into each other.
 */
export function groupedBarSpec(o: GroupedBarOptions): VegaLiteSpec {
  const ci = colorIndex(o.colors);
  return {
    title: o.title,
    width: { step: 16 },
    height: 200,
    spacing: 16,
    data: {
      values: o.rows
        .filter((r) => Number.isFinite(r.value))
        .map((r) => ({
          category: r.category,
          group: r.group,
          ci: ci(r.group),
          value: r.value,
        })),
    },
    mark: "bar",
    encoding: {
      column: {
        field: "category",
        type: "nominal",
        title: null,
        header: {
          labelAngle: 0,
          labelFontSize: 11,
          labelExpr: "split(datum.label, ' ')",
          labelLimit: 0,
        },
      },
      x: {
        field: "group",
        type: "nominal",
        title: null,
        axis: null,
        ...(o.colors ? { sort: { field: "ci", op: "min" } } : {}),
      },
      y: {
        field: "value",
        type: "quantitative",
        title: o.yTitle,
        // Side by side, one bar per group: nothing to stack (stacking orders by the colours'
        // names in an expression; see colorIndex).
        stack: null,
        ...(o.domain ? { scale: { domain: [...o.domain] } } : {}),
      },
      color: colorOf("group", o.colors),
    },
  };
}
