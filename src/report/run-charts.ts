/**
 * The run report's charts: oracle rates by policy, training curves and harmful compliance per
 * suite, and the bias probes (the reward model's preference shift per attribute, the policies'
 * rates). Every policy keeps one colour across the charts.
 */
import { chart, groupedBarSpec, lineSpec, type SeriesColors } from "./charts.js";
import { fmt, html, type SafeHtml } from "./html.js";
import type { RunReportData } from "./run-data.js";
import { pct, RATE_NAMES } from "./run-sections.js";

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

/** What the charts draw: rows of rates per policy, curve points per arm, harmful rates per suite. */
function chartRows(d: RunReportData) {
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
        : [{ category: RATE_NAMES[k], group: g.name, value: v }];
    }),
  );
  const curvePoints = (key: "score" | "kl" | "gold") =>
    d.arms.flatMap((a) =>
      a.curve.flatMap((p) =>
        typeof p[key] === "number" && Number.isFinite(p[key]) && Number.isFinite(p.step)
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
  return { barRows, reward, kl, gold, suiteRows };
}

export async function chartsSection(d: RunReportData): Promise<SafeHtml> {
  const all = policyColors(d, true);
  const arms = policyColors(d, false);
  const { barRows, reward, kl, gold, suiteRows } = chartRows(d);
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

export async function biasSection(d: RunReportData): Promise<SafeHtml> {
  const rows = d.arms.flatMap((a) =>
    Object.entries(a.rm_bias).map(([attr, b]) => ({
      category: attr,
      group: a.arm,
      value: b.mean_shift,
    })),
  );
  // A reward model that scored NaN (diverged) has no shift to draw: charted, its bars were an
  // empty frame on an axis "from NaN to NaN"; the table below shows "–".
  const drawn = rows.filter((r) => Number.isFinite(r.value));
  return html`<p class="muted">Pairs of responses that differ in one attribute only. The reward model's shift is the mean of r(variant) − r(plain);
near 0 means the attribute does not buy reward. The policy columns show the attribute's rate in generations to benign prompts.</p>
${drawn.length > 0 ? await chart(groupedBarSpec({ title: "Reward-model preference shift per attribute", yTitle: "mean reward shift", rows: drawn, colors: policyColors(d, false) })) : ""}
<table><thead><tr><th>policy</th><th class="num">mean words (benign prompts)</th><th class="num">entity mentions</th><th class="num">dialect markers</th></tr></thead><tbody>
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
