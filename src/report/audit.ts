/**
 * The audit report: one self-contained HTML page from data shaped like the audit JSON
 * (DESIGN.md, "Audit JSON" — with the extra fields `keel audit` writes, all optional here).
 * The input is described structurally so that report/ needs nothing from defend/ and any tool
 * that writes the documented layout gets a report.
 *
 * Sections: summary tiles; what the audit could not check (raters no detector had evidence on,
 * and the audit's warnings); suspicion distribution (stacked by verdict); raters with verdict,
 * suspicion, reliability, each detector's score (or "unchecked") and the reasons; collusion
 * groups; trigger patterns; the agreement heatmap of the most suspicious raters, group members
 * and a reference block of trusted ones; cohort findings; validation filters; excluded
 * comparisons.
 */

import { NO_NUMBER, percent } from "../core/percent.js";
import { chart, heatmapSpec, histogramSpec } from "./charts.js";
import { fmt, html, type SafeHtml } from "./html.js";
import { renderPage, type Section } from "./page.js";

export interface AuditReportRater {
  readonly rater_id: string;
  /** null: not measured (no judgment of the rater could be checked); shown as "–", not 0. */
  readonly reliability: number | null;
  readonly suspicion: number;
  readonly verdict: string;
  readonly reasons: readonly string[];
  readonly judgments?: number;
  readonly weight?: number;
  readonly evidence?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The detectors that had evidence on the rater; empty: unchecked (absent: not known). */
  readonly checked_by?: readonly string[];
}

export interface AuditReportData {
  readonly raters: readonly AuditReportRater[];
  readonly comparisons: readonly {
    readonly comparison_id: string;
    readonly p_a: number;
    readonly weight: number;
    readonly excluded: boolean;
    readonly reasons: readonly string[];
  }[];
  readonly groups: readonly {
    readonly rater_ids: readonly string[];
    readonly score: number;
    readonly reason: string;
  }[];
  readonly triggers: readonly {
    readonly pattern: string;
    readonly score: number;
    readonly support: number;
    readonly kind?: string;
    readonly rate?: number;
    readonly base_rate?: number;
    readonly lift?: number;
  }[];
  readonly promotions?: readonly {
    readonly pattern: string;
    readonly score: number;
    readonly support: number;
    readonly raters?: number;
  }[];
  readonly policy?: string;
  readonly summary?: Readonly<Record<string, number>>;
  /** What the audit could check (keel's `coverage`): raters per detector, and warnings. */
  readonly coverage?: {
    readonly detectors?: Readonly<Record<string, number>>;
    readonly warnings?: readonly string[];
  };
  readonly filters?: Readonly<Record<string, number | string>>;
  readonly findings?: readonly { readonly note: string; readonly z?: number }[];
  readonly agreement?: {
    readonly rater_ids: readonly string[];
    readonly agreement: readonly (readonly (number | null)[])[];
  };
}

export interface AuditReportOptions {
  readonly title?: string;
  /** Excluded and suspect raters listed, most suspicious first (the rest are counted). */
  readonly flaggedRows?: number;
  /** Trusted raters listed after the suspect and excluded ones (the rest are counted). */
  readonly trustedRows?: number;
  /** Collusion groups listed, and members named per group (the rest are counted). */
  readonly groupRows?: number;
  readonly groupMembers?: number;
  readonly excludedComparisonRows?: number;
  readonly source?: string;
}

/** Where every rater, group and comparison is when the page lists only the first ones. */
const FULL_LIST = html`The audit JSON (<code>keel audit --out</code>) lists them all.`;

const DETECTORS = [
  "gold",
  "reliability",
  "agreement",
  "entropy",
  "speed",
  "position",
  "length",
  "harm",
  "group",
  "trigger",
  "promotion",
];

/** A rater no detector had evidence on (an empty `checked_by`; absent is not known). */
const isUnchecked = (r: AuditReportRater) =>
  Array.isArray(r.checked_by) && r.checked_by.length === 0;

/**
 * The scores from 0.05 up; "–" for a rater checked and found clean, and "unchecked" for one no
 * detector had evidence on: both score 0 everywhere, and only this cell tells them apart.
 */
function evidenceCell(r: AuditReportRater): SafeHtml {
  if (isUnchecked(r))
    return html`<strong title="no detector had evidence on this rater: no gold answers, no co-raters, no latencies">unchecked</strong>`;
  const ev = r.evidence ?? {};
  const parts = DETECTORS.filter((k) => ev[k] !== undefined && (ev[k]!.score ?? 0) >= 0.05).map(
    (k) => html`<span title="${JSON.stringify(ev[k])}">${k} ${fmt(ev[k]!.score, 2)}</span>`,
  );
  if (parts.length > 0) return html`${parts.map((p, i) => html`${i > 0 ? " · " : ""}${p}`)}`;
  return Array.isArray(r.checked_by)
    ? html`<span class="muted" title="checked by ${r.checked_by.join(", ")}">–</span>`
    : html`<span class="muted">–</span>`;
}

/**
 * "–" where the audit measured nothing (null, or a tool's NaN): a 0 there read as a rater who is
 * always wrong.
 */
function reliabilityCell(x: number | null): SafeHtml {
  return x === null || !Number.isFinite(x)
    ? html`<td class="num" title="not measured: no judgment of this rater could be checked against a gold answer or another rater">${NO_NUMBER}</td>`
    : html`<td class="num">${fmt(x)}</td>`;
}

/** Excluded first, then suspect, then any other flag; trusted raters come after all of them. */
const VERDICT_RANK: Readonly<Record<string, number>> = { excluded: 0, suspect: 1 };
const rankOf = (verdict: string) =>
  Object.hasOwn(VERDICT_RANK, verdict) ? VERDICT_RANK[verdict]! : 2;

/**
 * Most suspicious first; a suspicion that is not a number (a tool's rater it could not score)
 * before every score of its verdict, shown as "–". As `b − a` it compared equal to everything,
 * and the sort then left the other raters out of order ([0.1, NaN, 0.9] stayed so).
 */
function bySuspicion(a: number, b: number): number {
  const ka = Number.isFinite(a) ? a : Number.POSITIVE_INFINITY;
  const kb = Number.isFinite(b) ? b : Number.POSITIVE_INFINITY;
  return ka === kb ? 0 : kb > ka ? 1 : -1;
}

/**
 * The rater table, bounded: a panel of 30,000 suspect raters made a 12 MB page. Excluded and
 * suspect raters come first (most suspicious first) up to `flaggedRows`, then trusted ones up to
 * `trustedRows`; the rest are counted by verdict and left to the audit JSON.
 */
function raterTable(
  raters: readonly AuditReportRater[],
  flaggedRows: number,
  trustedRows: number,
): SafeHtml {
  const sorted = [...raters].sort(
    (a, b) =>
      rankOf(a.verdict) - rankOf(b.verdict) ||
      bySuspicion(a.suspicion, b.suspicion) ||
      (a.rater_id < b.rater_id ? -1 : a.rater_id > b.rater_id ? 1 : 0),
  );
  const flagged = sorted.filter((r) => r.verdict !== "trusted");
  const trusted = sorted.filter((r) => r.verdict === "trusted");
  const rows = [...flagged.slice(0, flaggedRows), ...trusted.slice(0, trustedRows)];
  const left = new Map<string, number>();
  let leftUnchecked = 0;
  for (const r of [...flagged.slice(flaggedRows), ...trusted.slice(trustedRows)]) {
    left.set(r.verdict, (left.get(r.verdict) ?? 0) + 1);
    if (isUnchecked(r)) leftUnchecked++;
  }
  const omitted = [...left].map(([verdict, n]) => `${fmt(n)} ${verdict}`).join(", ");
  return html`<table>
<thead><tr><th>rater</th><th>verdict</th><th class="num">suspicion</th><th class="num">reliability</th><th class="num">weight</th><th class="num">judgments</th><th>detector scores</th><th>reasons</th></tr></thead>
<tbody>${rows.map(
    (r) =>
      html`<tr><td><code>${r.rater_id}</code></td><td class="v-${r.verdict}">${r.verdict}</td><td class="num">${fmt(r.suspicion)}</td>${reliabilityCell(r.reliability)}<td class="num">${fmt(r.weight)}</td><td class="num">${fmt(r.judgments)}</td><td>${evidenceCell(r)}</td><td>${r.reasons.length > 0 ? html`<ul class="reasons">${r.reasons.map((x) => html`<li>${x}</li>`)}</ul>` : ""}</td></tr>`,
  )}</tbody></table>
${left.size > 0 ? html`<p class="muted">Not listed: ${omitted} raters, the least suspicious${left.size > 1 ? " of each verdict" : ""}${leftUnchecked > 0 ? html` (${fmt(leftUnchecked)} of them unchecked)` : ""}. ${FULL_LIST}</p>` : ""}`;
}

/** The groups table, bounded like the rater table: so many groups, or members, are counted. */
function groupsTable(
  groups: AuditReportData["groups"],
  groupRows: number,
  groupMembers: number,
): SafeHtml {
  if (groups.length === 0)
    return html`<p class="muted">No group of raters agreed beyond what their individual reliabilities predict.</p>`;
  const members = (ids: readonly string[]) =>
    html`${ids.slice(0, groupMembers).map((id, k) => html`${k > 0 ? ", " : ""}<code>${id}</code>`)}${ids.length > groupMembers ? html` <span class="muted">and ${fmt(ids.length - groupMembers)} more</span>` : ""}`;
  return html`<table><thead><tr><th class="num">#</th><th class="num">size</th><th>raters</th><th class="num">score (−log10 p)</th><th>evidence</th></tr></thead><tbody>${groups
    .slice(0, groupRows)
    .map(
      (g, i) =>
        html`<tr><td class="num">${i + 1}</td><td class="num">${fmt(g.rater_ids.length)}</td><td>${members(g.rater_ids)}</td><td class="num">${fmt(g.score, 1)}</td><td>${g.reason}</td></tr>`,
    )}</tbody></table>${groups.length > groupRows ? html`<p class="muted">${fmt(groups.length - groupRows)} more groups not listed. ${FULL_LIST}</p>` : ""}`;
}

function triggerTable(triggers: AuditReportData["triggers"]): SafeHtml {
  if (triggers.length === 0)
    return html`<p class="muted">No prompt token or n-gram was over-represented among bad judgments.</p>`;
  return html`<table><thead><tr><th>pattern</th><th>kind</th><th class="num">score (−log10 p, adjusted)</th><th class="num">support (comparisons)</th><th class="num">bad rate</th><th class="num">base rate</th><th class="num">lift</th></tr></thead><tbody>${triggers.map(
    (t) =>
      html`<tr><td><code>${t.pattern}</code></td><td>${t.kind ?? ""}</td><td class="num">${fmt(t.score, 1)}</td><td class="num">${fmt(t.support)}</td><td class="num">${fmt(t.rate)}</td><td class="num">${fmt(t.base_rate)}</td><td class="num">${fmt(t.lift, 1)}</td></tr>`,
  )}</tbody></table>`;
}

function promotionTable(promotions: AuditReportData["promotions"]): SafeHtml {
  if (!promotions || promotions.length === 0)
    return html`<p class="muted">No word of the responses drew some raters towards it beyond what the others chose.</p>`;
  return html`<table><thead><tr><th>word</th><th class="num">score (−log10 p, adjusted)</th><th class="num">support (comparisons, one-sided)</th><th class="num">raters leaning to it</th></tr></thead><tbody>${promotions.map(
    (p) =>
      html`<tr><td><code>${p.pattern}</code></td><td class="num">${fmt(p.score, 1)}</td><td class="num">${fmt(p.support)}</td><td class="num">${p.raters === undefined ? "" : fmt(p.raters)}</td></tr>`,
  )}</tbody></table><p class="muted">Words in exactly one response of a comparison that some raters chose far more often than the other raters of the same comparisons (entity promotion).</p>`;
}

function keyValues(o: Readonly<Record<string, number | string>> | undefined): SafeHtml {
  if (!o) return html`<p class="muted">–</p>`;
  return html`<table><tbody>${Object.entries(o).map(([k, v]) => html`<tr><td>${k.replaceAll("_", " ")}</td><td class="num">${typeof v === "number" ? fmt(v) : v}</td></tr>`)}</tbody></table>`;
}

/** A share as a percentage; "–" for no value (null read "0.0%", NaN "NaN%"). */

/**
 * What the audit could not check: the raters no detector had evidence on, what rests on them
 * alone, the audit's warnings, and how many raters each detector saw. Undefined for an audit
 * that does not say (another tool's, or one written before keel reported it).
 */
function coverageSection(data: AuditReportData): SafeHtml | undefined {
  const s = data.summary ?? {};
  const warnings = Array.isArray(data.coverage?.warnings) ? data.coverage.warnings : [];
  const detectors = data.coverage?.detectors;
  if (s.unchecked_raters === undefined && warnings.length === 0 && detectors === undefined)
    return undefined;
  const n = s.unchecked_raters;
  const line =
    n === undefined
      ? ""
      : n === 0
        ? html`<p>Every rater was checked by at least one detector.</p>`
        : html`<p>${fmt(n)} of ${fmt(data.raters.length)} raters were checked by no detector (no gold answers, no other raters on their comparisons, no latencies): ${percent(s.unchecked_judgment_share)} of the judgments and ${percent(s.unchecked_weight_share)} of the kept comparisons' weight rest on them alone. Their verdict <code>trusted</code> means not checked, not cleared; they are marked <strong>unchecked</strong> in the rater table.</p>`;
  const seen =
    detectors && typeof detectors === "object"
      ? html`<p class="muted">Raters each detector had evidence on: ${Object.entries(detectors).map(([k, v], i) => html`${i > 0 ? " · " : ""}${k} ${fmt(v)}`)}.</p>`
      : "";
  return html`${line}${warnings.map((w) => html`<p><strong>Warning:</strong> ${w}</p>`)}${seen}`;
}

export async function renderAuditReport(
  data: AuditReportData,
  o: AuditReportOptions = {},
): Promise<string> {
  const s = data.summary ?? {};
  const count = (v: string) => data.raters.filter((r) => r.verdict === v).length;
  const tiles = [
    { label: "raters", value: fmt(data.raters.length) },
    { label: "excluded raters", value: fmt(count("excluded")) },
    { label: "suspect raters", value: fmt(count("suspect")) },
    ...(s.unchecked_raters !== undefined
      ? [{ label: "unchecked raters", value: fmt(s.unchecked_raters) }]
      : []),
    { label: "comparisons", value: fmt(data.comparisons.length) },
    {
      label: "excluded comparisons",
      value: fmt(data.comparisons.filter((c) => c.excluded).length),
    },
    ...(s.kept_weight_share !== undefined
      ? [{ label: "judgment weight kept", value: percent(s.kept_weight_share) }]
      : []),
    { label: "groups", value: fmt(data.groups.length) },
    { label: "trigger patterns", value: fmt(data.triggers.length) },
    { label: "promoted words", value: fmt(data.promotions?.length ?? 0) },
  ];
  // Charts of values that are all missing came out as empty frames; say so instead.
  const suspicion = data.raters.some((r) => Number.isFinite(r.suspicion))
    ? await chart(
        histogramSpec({
          values: data.raters.map((r) => r.suspicion),
          groups: data.raters.map((r) => r.verdict),
          title: "Suspicion per rater",
          xTitle: "suspicion",
          bins: 20,
          extent: [0, 1],
          colors: { trusted: "#067647", suspect: "#b54708", excluded: "#b42318" },
        }),
      )
    : html`<p class="muted">${data.raters.length === 0 ? "No raters." : "No rater has a suspicion score."}</p>`;
  const hm = data.agreement;
  const heat =
    hm &&
    hm.rater_ids.length > 1 &&
    hm.agreement.some((row) => row.some((v) => v !== null && Number.isFinite(v)))
      ? await chart(
          heatmapSpec({
            labels: hm.rater_ids,
            values: hm.agreement,
            title: "Agreement on co-rated comparisons (ties count ½)",
            legend: "agreement",
            domain: [0, 1],
          }),
        )
      : html`<p class="muted">Too few co-rated comparisons for a heatmap.</p>`;
  const excluded = data.comparisons.filter((c) => c.excluded);
  const limit = o.excludedComparisonRows ?? 50;
  const coverage = coverageSection(data);
  const sections: Section[] = [
    ...(coverage
      ? [{ id: "coverage", title: "What the audit could not check", body: coverage }]
      : []),
    { id: "suspicion", title: "Suspicion distribution", body: suspicion },
    {
      id: "raters",
      title: "Raters",
      body: raterTable(data.raters, o.flaggedRows ?? 500, o.trustedRows ?? 50),
    },
    {
      id: "groups",
      title: "Collusion groups",
      body: groupsTable(data.groups, o.groupRows ?? 100, o.groupMembers ?? 100),
    },
    { id: "triggers", title: "Trigger scan", body: triggerTable(data.triggers) },
    { id: "promotions", title: "Promotion scan", body: promotionTable(data.promotions) },
    {
      id: "agreement",
      title: "Agreement heatmap",
      body: html`${heat}<p class="muted">Rows: group members and the most suspicious raters first, then trusted raters for reference. Blank cells: no shared comparisons.</p>`,
    },
    {
      id: "findings",
      title: "Cohort findings",
      body:
        data.findings && data.findings.length > 0
          ? html`<p class="muted">For people to judge; they do not change any verdict or weight.</p><ul>${data.findings.map((f) => html`<li>${f.note}</li>`)}</ul>`
          : html`<p class="muted">No systematic difference between rater cohorts (or no rater attributes given).</p>`,
    },
    { id: "filters", title: "Validation filters", body: keyValues(data.filters) },
    {
      id: "comparisons",
      title: "Excluded comparisons",
      body:
        excluded.length === 0
          ? html`<p class="muted">None.</p>`
          : html`<table><thead><tr><th>comparison</th><th>reasons</th></tr></thead><tbody>${excluded.slice(0, limit).map((c) => html`<tr><td><code>${c.comparison_id}</code></td><td>${c.reasons.join("; ")}</td></tr>`)}</tbody></table>${excluded.length > limit ? html`<p class="muted">${fmt(excluded.length - limit)} more not listed. ${FULL_LIST}</p>` : ""}`,
    },
  ];
  return renderPage({
    title: o.title ?? "keel audit",
    subtitle: `policy ${data.policy ?? "?"}${o.source ? ` · ${o.source}` : ""}`,
    tiles,
    sections,
    footer:
      "Generated by keel audit. Suspicion is the probability that at least one detector's concern holds; see docs/defend.md.",
  });
}
