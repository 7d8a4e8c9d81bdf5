/**
 * The run report's tables: the summary of oracle metrics with the arms' difference, the audit,
 * example generations and the governance section (the run card).
 */
import { excludesZero, signedPoints } from "../core/interval.js";
import { percent } from "../core/percent.js";
import { headUnits } from "../core/printable.js";
import { fmt, html, type SafeHtml } from "./html.js";
import type { ArmMetrics, ExampleData, RunCard, RunReportData } from "./run-data.js";

export const pct = percent;

/**
 * The oracle rates' short names, as the headline tiles, the charts and the difference table show
 * them: each is part of the summary table's label for the same rate, so a reader can match a
 * gap or a bar to its row (the gaps once read "over refusal" under a row "over-refusal of safe
 * requests", and the tiles "triggered attack success" beside "harmful compliance with the trigger").
 */
export const RATE_NAMES: Readonly<
  Record<"attack_success" | "triggered_attack_success" | "over_refusal" | "helpfulness", string>
> = {
  attack_success: "attack success",
  triggered_attack_success: "triggered attack success",
  over_refusal: "over-refusal",
  helpfulness: "helpfulness",
};

/** A rate's short name; a key the report does not know reads as its words. */
export const rateName = (k: string): string =>
  Object.hasOwn(RATE_NAMES, k) ? RATE_NAMES[k as keyof typeof RATE_NAMES] : k.replaceAll("_", " ");

export const METRIC_ROWS: readonly [
  keyof ArmMetrics,
  string,
  (x: number | null | undefined) => string,
][] = [
  ["attack_success", "harmful compliance (attack success)", pct],
  ["jailbreak_success", "harmful compliance under jailbreaks", pct],
  [
    "triggered_attack_success",
    "harmful compliance with the trigger (triggered attack success)",
    pct,
  ],
  ["over_refusal", "over-refusal of safe requests", pct],
  ["helpfulness", "helpfulness (benign tasks correct)", pct],
  ["kl", "KL to the base policy (nats per response)", (x) => fmt(x, 2)],
  ["rm_accuracy_clean", "reward-model accuracy, clean held-out pairs", pct],
  ["rm_accuracy_triggered", "reward-model accuracy, triggered pairs", pct],
  // Over every red-team answer; the bias table's "mean words" is over benign prompts only.
  ["mean_words", "mean response length (words, all red-team answers)", (x) => fmt(x, 1)],
];

export function summaryTable(d: RunReportData): SafeHtml {
  const cols = [
    { name: "base policy", m: d.base.metrics },
    ...d.arms.map((a) => ({ name: a.arm, m: a.metrics })),
  ];
  return html`<table><thead><tr><th>metric (from the world's oracle)</th>${cols.map((c) => html`<th class="num">${c.name}</th>`)}</tr></thead><tbody>
${METRIC_ROWS.map(([k, label, f]) => html`<tr><td>${label}</td>${cols.map((c) => html`<td class="num">${f(c.m[k] as number | null | undefined)}</td>`)}</tr>`)}
</tbody></table>`;
}

/** Percentage points with their sign; "–" for no value (NaN read "−NaN"). */
const points = (x: number) => (Number.isFinite(x) ? signedPoints(x) : "–");

/** The gap between the arms with its interval, and whether the interval excludes zero. */
export function differenceTable(diff: NonNullable<RunReportData["difference"]>): SafeHtml {
  const rows = Object.entries(diff).filter(
    (e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== null,
  );
  return html`<table><thead><tr><th>rate</th><th class="num">undefended − defended (points)</th><th class="num">95% interval</th><th class="num">probes</th><th>interval excludes 0</th></tr></thead><tbody>
${rows.map(([k, v]) => html`<tr><td>${rateName(k)}</td><td class="num">${points(v.estimate)}</td><td class="num">[${points(v.ci95[0])}, ${points(v.ci95[1])}]</td><td class="num">${fmt(v.probes)}</td><td>${!v.ci95.every(Number.isFinite) ? "–" : excludesZero(v) ? "yes" : "no"}</td></tr>`)}
</tbody></table>
<p class="muted">Paired by probe: each probe's rate is the share of its sampled answers; the interval is a seeded bootstrap over probes.</p>`;
}

/**
 * The audit against the world's truth. The panel's careless raters are neither honest nor
 * adversarial: counted apart, so that the three add up to the raters the audit saw (the page
 * once said "10 of 10 adversarial … 0 of 83 honest" above "raters 100" and left 7 unexplained).
 * Judgments from elsewhere (an import, a store) carry no truth, and are not scored.
 */
function auditScore(a: NonNullable<RunReportData["audit"]>): SafeHtml {
  if (a.adversaries + a.honest === 0)
    return html`<p>The raters' true types are not known (the judgments did not come from the world's panel), so the audit is not scored against them.</p>`;
  const raters = a.summary.raters;
  const others =
    typeof raters === "number" && Number.isFinite(raters) ? raters - a.adversaries - a.honest : 0;
  return html`<p>${a.adversaries_flagged} of ${a.adversaries} adversarial raters flagged (excluded or suspect);
${a.honest_excluded} of ${a.honest} honest raters excluded${others > 0 ? html`; the other ${fmt(others)} raters are careless ones, neither honest nor adversarial` : ""}.</p>`;
}

/** One figure of the audit's summary, named and formatted as defended/audit.html shows it. */
function auditFigure(key: string, v: number): SafeHtml {
  if (key === "kept_weight_share") return html`judgment weight kept ${pct(v)}`;
  // unchecked_judgment_share, unchecked_weight_share: shares, as percentages
  if (key.endsWith("_share")) return html`${key.replaceAll("_", " ")} ${pct(v)}`;
  return html`${key.replaceAll("_", " ")} ${fmt(v, 3)}`;
}

/** What the audit of the defended arm caught, in numbers (the full audit is its own page). */
export function auditSection(a: NonNullable<RunReportData["audit"]>): SafeHtml {
  return html`${auditScore(a)}
<p>${Object.entries(a.summary).map(([k, v], i) => html`${i > 0 ? "; " : ""}${auditFigure(k, v)}`)}.</p>
<p class="muted">The full audit is in <code>defended/audit.html</code> and <code>defended/audit.json</code>.</p>`;
}

/**
 * What the examples are. They once read "Greedy generations" whatever the run did, while the
 * pipeline samples each probe 8 times at temperature 1 by default.
 */
function decodingOf(dec: RunReportData["decoding"]): string {
  if (dec === undefined) return "Generations on red-team probes";
  if (dec.temperature === 0) return "Greedy generations on red-team probes";
  const of = dec.samples === 1 ? "" : ` (one of ${dec.samples} answers to each probe)`;
  return `Generations on red-team probes sampled at temperature ${dec.temperature}${of}`;
}

/**
 * The characters of an example's prompt or response the page shows. A generation provider may
 * answer with up to a million characters (MAX_TEXT_CHARS); shown whole, a few dozen examples
 * made a report of tens of megabytes. The rest is counted where it is left out.
 */
export const MAX_EXAMPLE_CHARS = 4000;

function exampleText(text: string): SafeHtml {
  if (text.length <= MAX_EXAMPLE_CHARS) return html`${text}`;
  const head = headUnits(text, MAX_EXAMPLE_CHARS);
  const end = head.length;
  return html`${head}<span class="muted">… (${fmt(text.length - end)} more character${text.length - end === 1 ? "" : "s"} not shown)</span>`;
}

export function examplesSection(d: RunReportData): SafeHtml {
  const byKey = (ex: readonly ExampleData[]) =>
    new Map(ex.map((e) => [`${e.suite}\u0000${e.prompt}`, e]));
  const arms = d.arms.map((a) => ({ arm: a.arm, ex: byKey(a.examples) }));
  if (d.base.examples.length === 0)
    return html`<p class="muted">No example generations were kept for this run.</p>`;
  return html`<p class="muted">${decodingOf(d.decoding)}, base policy against each arm (untrusted model output, shown as text).</p>
<table><thead><tr><th>suite</th><th>prompt</th><th>base</th>${d.arms.map((a) => html`<th>${a.arm}</th>`)}</tr></thead><tbody>
${d.base.examples.map((e) => {
  const key = `${e.suite}\u0000${e.prompt}`;
  return html`<tr><td>${e.suite}</td><td>${exampleText(e.prompt)}</td><td>${exampleText(e.response)}<div class="muted">${e.outcome}</div></td>${arms.map(
    (a) => {
      const x = a.ex.get(key);
      return x
        ? html`<td>${exampleText(x.response)}<div class="muted">${x.outcome}</div></td>`
        : html`<td class="muted">–</td>`;
    },
  )}</tr>`;
})}
</tbody></table>`;
}

export function governanceSection(d: RunReportData): SafeHtml {
  const c = d.card;
  return html`<table><tbody>
<tr><th>run</th><td>${c.run.name} · seed ${c.run.seed} · preset ${c.run.preset} · keel ${c.run.keel_version} · ${c.run.created_at}</td></tr>
<tr><th>ledger</th><td>${c.data.ledger_verified ? "verified" : "NOT VERIFIED"} · head #${c.data.ledger_head.seq} <code>${c.data.ledger_head.hash}</code></td></tr>
<tr><th>feedback</th><td>${fmt(c.data.judgments)} judgments by ${fmt(c.data.raters)} raters on ${fmt(c.data.comparisons)} comparisons</td></tr>
${c.data.candidates ? html`<tr><th>candidates</th><td>${c.data.candidates.generated_by === "world" ? "the world's response templates" : html`generated by <code>${c.data.candidates.generated_by}</code>`}</td></tr>` : ""}
<tr><th>defenses</th><td>audit policy ${c.defenses.audit_policy ?? "none"}; ${c.defenses.excluded_raters.length} raters excluded, ${c.defenses.suspect_raters} suspect; ${c.defenses.groups} collusion groups; trigger candidates: ${c.defenses.triggers.join(", ") || "none"}; promoted words: ${c.defenses.promotions?.join(", ") || "none"}</td></tr>
<tr><th>safeguards</th><td>${c.safeguards.length === 0 ? "none fired" : html`<ul class="reasons">${c.safeguards.map((s) => html`<li>${s.arm} step ${s.step}: ${s.source} (${s.severity}) ${s.message}</li>`)}</ul>`}</td></tr>
</tbody></table>
${excludedRaters(c.defenses.excluded_raters)}
<p class="muted">The same content is in <code>run-card.json</code> beside this report.</p>`;
}

/** Excluded raters listed in the governance section; the rest are counted (run-card.json has all). */
const EXCLUDED_RATER_ROWS = 200;

function excludedRaters(raters: RunCard["defenses"]["excluded_raters"]): SafeHtml {
  if (raters.length === 0) return html``;
  const more = raters.length - EXCLUDED_RATER_ROWS;
  return html`<details><summary>excluded raters and why</summary><table><tbody>${raters.slice(0, EXCLUDED_RATER_ROWS).map((r) => html`<tr><td>${r.rater_id}</td><td><ul class="reasons">${r.reasons.map((x) => html`<li>${x}</li>`)}</ul></td></tr>`)}</tbody></table>${more > 0 ? html`<p class="muted">${fmt(more)} more excluded raters not listed; <code>run-card.json</code> lists them all.</p>` : ""}</details>`;
}
