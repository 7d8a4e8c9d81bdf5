/** Self-contained HTML reports: safe HTML building, the page template, Vega-Lite charts as SVG. */
export { type AuditReportData, type AuditReportOptions, renderAuditReport } from "./audit.js";
export {
  type BarOptions,
  barSpec,
  chart,
  type GroupedBarOptions,
  groupedBarSpec,
  type HeatmapOptions,
  type HistogramOptions,
  heatmapSpec,
  histogramSpec,
  type LineOptions,
  lineSpec,
  type VegaLiteSpec,
  vegaLiteToSvg,
} from "./charts.js";
export { escapeHtml, fmt, type HtmlValue, html, SafeHtml, trusted } from "./html.js";
export { type PageOptions, renderPage, type Section } from "./page.js";
export * from "./run.js";
