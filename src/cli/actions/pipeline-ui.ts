/**
 * Progress output for pipeline runs (keel demo, keel run, keel experiment): stage lines, a bar,
 * and on --resume why a stage runs again.
 */
import { excludesZero, signedPoints } from "../../core/interval.js";
import { percent } from "../../core/percent.js";
import type { RunnerEvents } from "../../pipeline/runner.js";
import type { RunSummary } from "../../pipeline/stages/report.js";
import { fmtDuration } from "../progress.js";

export function pipelineEvents(quiet: boolean): RunnerEvents {
  if (quiet) return {};
  const tty = Boolean(process.stderr.isTTY);
  // Monotonic: a wall clock stepped back an hour would silence the bar for that hour.
  let last = Number.NEGATIVE_INFINITY;
  let count = 0;
  return {
    onStageStart(i, n, stage, skipped) {
      count = n;
      process.stderr.write(
        `[${i + 1}/${n}] ${stage.title}${skipped ? " (done earlier, kept)" : ""}\n`,
      );
    },
    onStageProgress(_stage, fraction, detail, eta) {
      const now = performance.now();
      if (now - last < (tty ? 200 : 10_000)) return;
      last = now;
      // A stage's own fraction, as the runner's ETA takes it: 0..1 (a negative one would throw).
      const f = Number.isFinite(fraction) ? Math.min(Math.max(fraction, 0), 1) : 0;
      const bar = `${"#".repeat(Math.round(f * 20)).padEnd(20, "-")}`;
      // The ETA is the whole run's (stage weights), not this stage's.
      const line = `  [${bar}] ${(f * 100).toFixed(0).padStart(3)}%${eta !== undefined ? ` (run ETA ${fmtDuration(eta)})` : ""} ${detail ?? ""}`;
      if (tty)
        process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\u001b[K`);
      else process.stderr.write(`${line}\n`);
    },
    // Under the stage's "[i/n] title" line.
    onStageRerun(_stage, reason, continues) {
      process.stderr.write(`  ${continues ? "resumed" : "re-run"}: ${reason}\n`);
    },
    onStageEnd(_stage, seconds, skipped) {
      if (tty) process.stderr.write("\r\u001b[K");
      if (!skipped) process.stderr.write(`  done in ${fmtDuration(seconds)}\n`);
      void count;
    },
  };
}

const pct = (x: number | null | undefined) => percent(x).padStart(6);

/** The arms side by side, as the CLI prints them. */
export function describeSummary(s: RunSummary, runDir: string): string {
  const arms = Object.entries(s.arms);
  const rows: [string, (a: (typeof arms)[number][1]) => string, string][] = [
    [
      "harmful compliance (attack success)",
      (a) => pct(a?.attack_success),
      pct(s.base.attack_success),
    ],
    [
      "  with the backdoor trigger",
      (a) => pct(a?.triggered_attack_success),
      pct(s.base.triggered_attack_success),
    ],
    ["over-refusal", (a) => pct(a?.over_refusal), pct(s.base.over_refusal)],
    ["helpfulness", (a) => pct(a?.helpfulness), pct(s.base.helpfulness)],
    [
      "KL to base (nats per response)",
      (a) => (a?.kl === null || a?.kl === undefined ? "   -  " : a.kl.toFixed(2).padStart(6)),
      "   -  ",
    ],
    ["reward model accuracy, clean", (a) => pct(a?.rm_accuracy_clean), "   -  "],
    ["reward model accuracy, triggered", (a) => pct(a?.rm_accuracy_triggered), "   -  "],
  ];
  const head = `${"".padEnd(36)}${"base".padStart(10)}${arms.map(([n]) => n.padStart(12)).join("")}`;
  return [
    head,
    ...rows.map(
      ([label, f, b]) =>
        `${label.padEnd(36)}${b.padStart(10)}${arms.map(([, a]) => f(a).padStart(12)).join("")}`,
    ),
    ...describeDifference(s),
    "",
    `report: ${runDir}/report.html`,
    `summary: ${runDir}/summary.json · governance: ${runDir}/run-card.json`,
  ].join("\n");
}

/** ASCII minus for terminals. */
const points = (x: number) => signedPoints(x, "-");

/**
 * The undefended − defended gaps with their 95% intervals, and whether each is more than noise:
 * every gap summary.json and the report hold (helpfulness's was once left out here alone).
 */
function describeDifference(s: RunSummary): string[] {
  if (!s.difference) return [];
  const labels: [keyof NonNullable<RunSummary["difference"]>, string][] = [
    ["attack_success", "harmful compliance"],
    ["triggered_attack_success", "  with the backdoor trigger"],
    ["over_refusal", "over-refusal"],
    ["helpfulness", "helpfulness"],
  ];
  const lines = labels.flatMap(([k, label]) => {
    const d = s.difference?.[k];
    if (!d) return [];
    const sure = excludesZero(d);
    return [
      `${label.padEnd(36)}${points(d.estimate).padStart(7)} points, 95% CI [${points(d.ci95[0])}, ${points(d.ci95[1])}] over ${d.probes} prompts${sure ? "" : " (not distinguishable from noise)"}`,
    ];
  });
  return lines.length > 0 ? ["", "undefended - defended, paired by probe:", ...lines] : [];
}
