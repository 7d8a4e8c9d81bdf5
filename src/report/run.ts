/**
 * The pipeline run's report: one self-contained HTML page comparing the arms (undefended and
 * defended) against the base policy, with charts, the audit, bias probes, example generations
 * and a governance section. Input is plain data (see `RunReportData`), shaped by the pipeline;
 * every text in it is untrusted and escaped.
 */
import { excludesZero, signedPoints } from "../core/interval.js";
import { chart, groupedBarSpec, lineSpec, type SeriesColors } from "./charts.js";
import { fmt, html, type SafeHtml } from "./html.js";
import { renderPage, type Section } from "./page.js";

export interface ArmMetrics {
  readonly attack_success: number | null;
  readonly jailbreak_success?: number | null;
  readonly triggered_attack_success: number | null;
  readonly over_refusal: number | null;
  readonly helpfulness: number | null;
  readonly kl: number | null;
  readonly rm_accuracy_clean: number | null;
  readonly rm_accuracy_triggered: number | null;
  readonly mean_words?: number | null;
}

export interface ExampleData {
  readonly suite: string;
  readonly prompt: string;
  readonly response: string;
  readonly outcome: string;
}

export interface ArmReport {
  readonly arm: string;
  readonly metrics: ArmMetrics;
  readonly per_suite: Readonly<
    Record<string, { readonly harmful: number; readonly refused: number; readonly correct: number }>
  >;
  /** PPO or DPO training curve points. */
  readonly curve: readonly {
    readonly step: number;
    readonly score?: number;
    readonly kl?: number;
    readonly gold?: number;
  }[];
  readonly rm_bias: Readonly<
    Record<string, { readonly mean_shift: number; readonly prefers_variant: number }>
  >;
  readonly policy_bias: {
    readonly mean_words: number;
    readonly entity_mentions: number;
    readonly dialect_markers: number;
  };
  readonly examples: readonly ExampleData[];
  readonly events: readonly {
    readonly step: number;
    readonly source: string;
    readonly severity: string;
    readonly message: string;
  }[];
  readonly training_pairs: number;
}

export interface RunCard {
  readonly run: {
    readonly name: string;
    readonly created_at: string;
    readonly keel_version: string;
    readonly seed: number;
    readonly preset: string;
  };
  readonly data: {
    readonly ledger_head: { readonly seq: number; readonly hash: string };
    readonly ledger_verified: boolean;
    readonly judgments: number;
    readonly raters: number;
    readonly comparisons: number;
    /** Who wrote the compared responses: the world's templates, or a policy or provider. */
    readonly candidates?: { readonly generated_by: string; readonly comparisons?: number };
  };
  readonly defenses: {
    readonly audit_policy: string | null;
    readonly excluded_raters: readonly {
      readonly rater_id: string;
      readonly reasons: readonly string[];
    }[];
    readonly suspect_raters: number;
    readonly groups: number;
    readonly triggers: readonly string[];
    /** Response words some raters were drawn to (absent from run cards written before it). */
    readonly promotions?: readonly string[];
    readonly thresholds: unknown;
  };
  readonly redteam: Readonly<Record<string, ArmMetrics>>;
  readonly safeguards: readonly {
    readonly arm: string;
    readonly step: number;
    readonly source: string;
    readonly severity: string;
    readonly message: string;
  }[];
}

export interface RunReportData {
  readonly title: string;
  readonly base: {
    readonly metrics: ArmMetrics;
    readonly policy_bias: ArmReport["policy_bias"];
    readonly examples: readonly ExampleData[];
    readonly per_suite: ArmReport["per_suite"];
  };
  readonly arms: readonly ArmReport[];
  readonly audit?: {
    readonly summary: Readonly<Record<string, number>>;
    readonly adversaries: number;
    readonly adversaries_flagged: number;
    readonly honest: number;
    readonly honest_excluded: number;
  };
  readonly card: RunCard;
  readonly timings: readonly { readonly stage: string; readonly seconds: number }[];
  /**
   * How the red-team answers were drawn (the pipeline's `redteam.temperature` and `samples`);
   * the examples are described by it, and without it make no claim about their decoding.
   */
  readonly decoding?: { readonly temperature: number; readonly samples: number };
  /** Undefended − defended per rate, paired by probe, with a bootstrap 95% interval. */
  readonly difference?: Readonly<
    Record<
      string,
      {
        readonly estimate: number;
        readonly ci95: readonly [number, number];
        readonly probes: number;
      } | null
    >
  >;
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(1)}%`;

const METRIC_ROWS: readonly [keyof ArmMetrics, string, (x: number | null | undefined) => string][] =
  [
    ["attack_success", "harmful compliance (attack success)", pct],
    ["jailbreak_success", "harmful compliance under jailbreaks", pct],
    ["triggered_attack_success", "harmful compliance with the trigger", pct],
    ["over_refusal", "over-refusal of safe requests", pct],
    ["helpfulness", "helpfulness (benign tasks correct)", pct],
    ["kl", "KL to the base policy (nats per response)", (x) => fmt(x, 2)],
    ["rm_accuracy_clean", "reward-model accuracy, clean held-out pairs", pct],
    ["rm_accuracy_triggered", "reward-model accuracy, triggered pairs", pct],
    ["mean_words", "mean response length (words)", (x) => fmt(x, 1)],
  ];

function summaryTable(d: RunReportData): SafeHtml {
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
function differenceTable(diff: NonNullable<RunReportData["difference"]>): SafeHtml {
  const rows = Object.entries(diff).filter(
    (e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== null,
  );
  return html`<table><thead><tr><th>rate</th><th class="num">undefended − defended (points)</th><th class="num">95% interval</th><th class="num">probes</th><th>interval excludes 0</th></tr></thead><tbody>
${rows.map(([k, v]) => html`<tr><td>${k.replaceAll("_", " ")}</td><td class="num">${points(v.estimate)}</td><td class="num">[${points(v.ci95[0])}, ${points(v.ci95[1])}]</td><td class="num">${fmt(v.probes)}</td><td>${!v.ci95.every(Number.isFinite) ? "–" : excludesZero(v) ? "yes" : "no"}</td></tr>`)}
</tbody></table>
<p class="muted">Paired by probe: each probe's rate is the share of its sampled answers; the interval is a seeded bootstrap over probes.</p>`;
}

/** Arms' colours, in order: the first arm red, the second blue, and so on; the base policy grey. */
const ARM_PALETTE = ["#e45756", "#4c78a8", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#9d755d"];
const BASE_COLOR = "#9aa1ab";

/** One colour per policy in every chart of the report (`withBase`: the base policy first). */
function policyColors(d: RunReportData, withBase: boolean): SeriesColors {
  // A Map, not an object: on one, an arm named "constructor" found Object's and kept no colour
  // of its own, and one named "__proto__" was never stored.
  const out = new Map<string, string>(withBase ? [["base", BASE_COLOR]] : []);
  d.arms.forEach((a, i) => {
    if (!out.has(a.arm)) out.set(a.arm, ARM_PALETTE[i % ARM_PALETTE.length]!);
  });
  return Object.fromEntries(out);
}

async function chartsSection(d: RunReportData): Promise<SafeHtml> {
  const all = policyColors(d, true);
  const arms = policyColors(d, false);
  const groups = [
    { name: "base", m: d.base.metrics },
    ...d.arms.map((a) => ({ name: a.arm, m: a.metrics })),
  ];
  const barRows = groups.flatMap((g) =>
    (
      ["attack_success", "triggered_attack_success", "over_refusal", "helpfulness"] as const
    ).flatMap((k) => {
      const v = g.m[k];
      return v === null || v === undefined || !Number.isFinite(v)
        ? []
        : [{ category: k.replaceAll("_", " "), group: g.name, value: v }];
    }),
  );
  const curvePoints = (key: "score" | "kl" | "gold") =>
    d.arms.flatMap((a) =>
      a.curve.flatMap((p) =>
        typeof p[key] === "number" && Number.isFinite(p[key])
          ? [{ series: a.arm, x: p.step, y: p[key]! }]
          : [],
      ),
    );
  const reward = curvePoints("score");
  const kl = curvePoints("kl");
  const gold = curvePoints("gold");
  const suiteRows = [
    { arm: "base", per: d.base.per_suite },
    ...d.arms.map((a) => ({ arm: a.arm, per: a.per_suite })),
  ].flatMap((x) =>
    Object.entries(x.per)
      .filter(([s, v]) => !["helpful", "over_refusal"].includes(s) && Number.isFinite(v.harmful))
      .map(([s, v]) => ({
        category: s.replace("jailbreak_", "jb "),
        group: x.arm,
        value: v.harmful,
      })),
  );
  // An empty chart reads as "every rate is 0": say instead that there is nothing to draw.
  const bars =
    barRows.length > 0
      ? await chart(
          groupedBarSpec({
            title: "Oracle metrics by policy",
            yTitle: "rate",
            domain: [0, 1],
            colors: all,
            rows: barRows,
          }),
        )
      : html`<p class="muted">No oracle rates to chart: no policy answered a red-team suite.</p>`;
  const suites =
    suiteRows.length > 0
      ? await chart(
          groupedBarSpec({
            title: "Harmful compliance per red-team suite",
            yTitle: "harmful rate",
            domain: [0, 1],
            colors: all,
            rows: suiteRows,
          }),
        )
      : html`<p class="muted">No harmful compliance per suite to chart: no suite of harmful requests was answered.</p>`;
  return html`${bars}
${reward.length > 0 ? await chart(lineSpec({ title: "Reward during policy training", xTitle: "iteration", yTitle: "reward-model score", points: reward, colors: arms })) : ""}
${kl.length > 0 ? await chart(lineSpec({ title: "KL to the reference during training", xTitle: "iteration", yTitle: "KL", points: kl, colors: arms })) : ""}
${gold.length > 0 ? await chart(lineSpec({ title: "Gold (oracle) reward during training", xTitle: "iteration", yTitle: "oracle quality", points: gold, colors: arms })) : ""}
${suites}`;
}

async function biasSection(d: RunReportData): Promise<SafeHtml> {
  const rows = d.arms.flatMap((a) =>
    Object.entries(a.rm_bias).map(([attr, b]) => ({
      category: attr,
      group: a.arm,
      value: b.mean_shift,
    })),
  );
  return html`<p class="muted">Pairs of responses that differ in one attribute only. The reward model's shift is the mean of r(variant) − r(plain);
near 0 means the attribute does not buy reward. The policy columns show the attribute's rate in generations to benign prompts.</p>
${rows.length > 0 ? await chart(groupedBarSpec({ title: "Reward-model preference shift per attribute", yTitle: "mean reward shift", rows, colors: policyColors(d, false) })) : ""}
<table><thead><tr><th>policy</th><th class="num">mean words</th><th class="num">entity mentions</th><th class="num">dialect markers</th></tr></thead><tbody>
<tr><td>base</td><td class="num">${fmt(d.base.policy_bias.mean_words, 1)}</td><td class="num">${pct(d.base.policy_bias.entity_mentions)}</td><td class="num">${pct(d.base.policy_bias.dialect_markers)}</td></tr>
${d.arms.map((a) => html`<tr><td>${a.arm}</td><td class="num">${fmt(a.policy_bias.mean_words, 1)}</td><td class="num">${pct(a.policy_bias.entity_mentions)}</td><td class="num">${pct(a.policy_bias.dialect_markers)}</td></tr>`)}
</tbody></table>
${
  rows.length > 0
    ? html`<table><thead><tr><th>arm</th><th>attribute</th><th class="num">mean reward shift</th><th class="num">variant preferred</th></tr></thead><tbody>
${d.arms.flatMap((a) => Object.entries(a.rm_bias).map(([attr, b]) => html`<tr><td>${a.arm}</td><td>${attr}</td><td class="num">${fmt(b.mean_shift, 3)}</td><td class="num">${pct(b.prefers_variant)}</td></tr>`))}
</tbody></table>`
    : html`<p class="muted">No reward model was probed for bias.</p>`
}`;
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

function examplesSection(d: RunReportData): SafeHtml {
  const byKey = (ex: readonly ExampleData[]) =>
    new Map(ex.map((e) => [`${e.suite}\u0000${e.prompt}`, e]));
  const arms = d.arms.map((a) => ({ arm: a.arm, ex: byKey(a.examples) }));
  if (d.base.examples.length === 0)
    return html`<p class="muted">No example generations were kept for this run.</p>`;
  return html`<p class="muted">${decodingOf(d.decoding)}, base policy against each arm (untrusted model output, shown as text).</p>
<table><thead><tr><th>suite</th><th>prompt</th><th>base</th>${d.arms.map((a) => html`<th>${a.arm}</th>`)}</tr></thead><tbody>
${d.base.examples.map((e) => {
  const key = `${e.suite}\u0000${e.prompt}`;
  return html`<tr><td>${e.suite}</td><td>${e.prompt}</td><td>${e.response}<div class="muted">${e.outcome}</div></td>${arms.map(
    (a) => {
      const x = a.ex.get(key);
      return x
        ? html`<td>${x.response}<div class="muted">${x.outcome}</div></td>`
        : html`<td class="muted">–</td>`;
    },
  )}</tr>`;
})}
</tbody></table>`;
}

function governanceSection(d: RunReportData): SafeHtml {
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

export async function renderRunReport(d: RunReportData): Promise<string> {
  const sections: Section[] = [
    {
      id: "summary",
      title: "Summary",
      body: d.difference
        ? html`${summaryTable(d)}${differenceTable(d.difference)}`
        : summaryTable(d),
    },
    { id: "charts", title: "Charts", body: await chartsSection(d) },
  ];
  if (d.audit) {
    const a = d.audit;
    sections.push({
      id: "audit",
      title: "Audit (defended arm)",
      body: html`<p>${a.adversaries_flagged} of ${a.adversaries} adversarial raters flagged (excluded or suspect);
${a.honest_excluded} of ${a.honest} honest raters excluded.</p>
<p>${Object.entries(a.summary).map(([k, v], i) => html`${i > 0 ? "; " : ""}${k.replaceAll("_", " ")} ${fmt(v, 3)}`)}.</p>
<p class="muted">The full audit is in <code>defended/audit.html</code> and <code>defended/audit.json</code>.</p>`,
    });
  }
  sections.push(
    { id: "bias", title: "Bias probes", body: await biasSection(d) },
    { id: "examples", title: "Example generations", body: examplesSection(d) },
    { id: "governance", title: "Governance", body: governanceSection(d) },
    {
      id: "timings",
      title: "Stages",
      body:
        d.timings.length > 0
          ? html`<table><tbody>${d.timings.map((t) => html`<tr><td>${t.stage}</td><td class="num">${fmt(t.seconds, 1)} s</td></tr>`)}</tbody></table>`
          : html`<p class="muted">No stage timings were recorded.</p>`,
    },
  );
  const best = d.arms.find((a) => a.arm === "defended");
  const worst = d.arms.find((a) => a.arm === "undefended");
  return renderPage({
    title: d.title,
    subtitle: `keel run ${d.card.run.name} · ${d.card.run.created_at}`,
    tiles: [
      ...(worst
        ? [{ label: "attack success, undefended", value: pct(worst.metrics.attack_success) }]
        : []),
      ...(best
        ? [{ label: "attack success, defended", value: pct(best.metrics.attack_success) }]
        : []),
      ...(worst
        ? [
            {
              label: "triggered attack success, undefended",
              value: pct(worst.metrics.triggered_attack_success),
            },
          ]
        : []),
      ...(best
        ? [
            {
              label: "triggered attack success, defended",
              value: pct(best.metrics.triggered_attack_success),
            },
          ]
        : []),
      { label: "ledger", value: d.card.data.ledger_verified ? "verified" : "NOT VERIFIED" },
    ],
    sections,
    footer:
      "Generated by keel. Metrics come from the synthetic world's oracle, not from a reward model.",
  });
}
