/**
 * A self-contained report page: one HTML file with inline CSS and inline SVG charts, no scripts,
 * no external resources, so it opens offline and from an e-mail attachment alike. A Content
 * Security Policy forbids loading anything, and any script, base URL or form submission (which
 * `default-src` does not cover), as a second line of defence against injected markup.
 */
import { html, type SafeHtml, trusted } from "./html.js";

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly body: SafeHtml;
}

export interface PageOptions {
  readonly title: string;
  readonly subtitle?: string;
  /** Key figures shown as tiles under the title. */
  readonly tiles?: readonly { readonly label: string; readonly value: string }[];
  readonly sections: readonly Section[];
  readonly footer?: string;
}

/**
 * The page's own constant style sheet (written here, not data: safe as it is). Text breaks
 * anywhere when it must: one unbroken string (a 3,000-letter trigger pattern, a response of one
 * long token) widened a table column, and the page, to 28,000 pixels.
 */
const CSS = `
:root { --fg:#1d2430; --muted:#5b6575; --line:#d9dee6; --bg:#fff; --soft:#f4f6f9;
        --bad:#b42318; --warn:#b54708; --ok:#067647; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; padding: 24px 32px 64px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 32px 0 8px; }
.sub { color: var(--muted); margin-bottom: 16px; }
nav a { margin-right: 14px; color: var(--muted); }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.tile { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; }
.tile b { display: block; font-size: 18px; } .tile span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { text-align: right; }
.v-excluded { color: var(--bad); font-weight: 600; } .v-suspect { color: var(--warn); font-weight: 600; }
.v-trusted { color: var(--ok); }
td, li, h1, .sub, .tile, footer { overflow-wrap: anywhere; } td[class^="v-"] { overflow-wrap: normal; }
ul.reasons { margin: 0; padding-left: 16px; } ul.reasons li { margin: 1px 0; }
.muted { color: var(--muted); } .chart { overflow-x: auto; margin: 8px 0; }
details summary { cursor: pointer; color: var(--muted); }
code { background: var(--soft); padding: 0 3px; border-radius: 3px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

export function renderPage(o: PageOptions): string {
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title}</title>
<style>${trusted(CSS)}</style>
</head>
<body>
<h1>${o.title}</h1>
${o.subtitle ? html`<div class="sub">${o.subtitle}</div>` : ""}
<nav>${o.sections.map((s) => html`<a href="#${s.id}">${s.title}</a>`)}</nav>
${o.tiles && o.tiles.length > 0 ? html`<div class="tiles">${o.tiles.map((t) => html`<div class="tile"><b>${t.value}</b><span>${t.label}</span></div>`)}</div>` : ""}
${o.sections.map((s) => html`<section id="${s.id}"><h2>${s.title}</h2>${s.body}</section>`)}
${o.footer ? html`<footer>${o.footer}</footer>` : ""}
</body>
</html>
`;
  return doc.value;
}
