/** `keel export`'s action: stream the ledger through the chosen exporter, atomically. */
import { KeelError } from "../../core/errors.js";
import type { Judgment } from "../../core/types.js";
import type { CleanPlan } from "../../defend/clean.js";
import { exportFormat, type SkipReason } from "../../io/exporters.js";
import { sqliteFiles } from "../../io/output-target.js";
import { collectionDb, getProject } from "../../store/collection/index.js";
import type { FeedbackStore } from "../../store/store.js";
import type { ExportFlags } from "../commands/export.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import { withStore } from "./with-store.js";

/** Refuses an unknown collection project. */
async function requireProject(store: FeedbackStore, id: string): Promise<void> {
  if (!(await getProject(collectionDb(store), id)))
    throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(id)}`, {
      hint: "keel project list shows the store's projects",
    });
}

export async function runExport(o: ExportFlags): Promise<void> {
  const format = exportFormat(o.format);
  const keys = {
    ...(o.promptKey ? { prompt: o.promptKey } : {}),
    ...(o.chosenKey ? { chosen: o.chosenKey } : {}),
    ...(o.rejectedKey ? { rejected: o.rejectedKey } : {}),
    ...(o.marginKey ? { margin: o.marginKey } : {}),
  };
  if (o.clean && format.key !== "trl" && format.key !== "openrlhf") {
    throw new KeelError(
      "KEEL_E_USAGE",
      "--clean writes preference rows: use -f trl or -f openrlhf",
    );
  }
  if (o.margin && !o.clean)
    throw new KeelError(
      "KEEL_E_USAGE",
      "--margin needs --clean: margins come from the audit's preference per comparison",
      { hint: "keel's judgments carry a choice, not a strength of preference" },
    );
  // Without --clean every judgment is written, excluded raters' too: an --audit, --policy or
  // --config given without it would be ignored and the export look cleaned when it is not.
  const auditFlag = o.audit ? "--audit" : o.policy ? "--policy" : o.config ? "--config" : undefined;
  if (auditFlag && !o.clean)
    throw new KeelError(
      "KEEL_E_USAGE",
      `${auditFlag} needs --clean: without it every judgment is exported as it is, uncleaned`,
      { hint: "add --clean to export the audit's cleaned, weighted preferences" },
    );
  if (o.audit && (o.policy || o.config))
    throw new KeelError(
      "KEEL_E_USAGE",
      `${o.policy ? "--policy" : "--config"} sets how the store is audited now; --audit applies an audit already made`,
      { hint: "give one: --audit FILE, or --policy/--config to audit the store" },
    );
  if (o.marginKey && !o.margin)
    throw new KeelError(
      "KEEL_E_USAGE",
      "--margin-key names the margin that --margin adds; give --margin",
    );
  // The audit (defenses, and perhaps a safety model) is loaded only when --clean needs it.
  const plan = o.clean ? await (await import("./audit.js")).cleanPlanFor(o) : undefined;
  const result = await withStore(o.db, async (store) => {
    if (o.project) await requireProject(store, o.project);
    // Only the project's judgments are read (the store filters them), not the whole ledger.
    const scope = o.project ? { project: o.project } : {};
    // The output is created only once the store and the arguments are known to be good, so a
    // failure before this point leaves nothing behind.
    const exporter = format.open(o.out, {
      ...(o.table ? { table: o.table } : {}),
      openrlhfKeys: keys,
      protect: [
        ...(store.filePath ? sqliteFiles(store.filePath, "the feedback store") : []),
        // The audit that --clean applies (or its config): overwriting it loses the verdicts.
        ...(o.audit !== undefined ? [{ path: o.audit, what: "the audit (--audit)" }] : []),
        ...(o.config !== undefined ? [{ path: o.config, what: "the audit config" }] : []),
      ],
      ...(plan
        ? {
            pairExtras: (j) => {
              const weight = plan.weightOf(j);
              const margin = o.margin ? plan.marginOf(j) : undefined;
              return weight !== undefined
                ? { weight, ...(margin !== undefined ? { margin } : {}) }
                : undefined;
            },
          }
        : {}),
    });
    let n = 0;
    const dropped: Record<DropReason, number> = { excluded: 0, undecided: 0, unaudited: 0 };
    try {
      // One snapshot: judgments that another process appends meanwhile are neither written nor
      // counted, so the count agrees with the rows.
      const judgments = await store.inSnapshot(async (snap) => {
        const judgments = await snap.countJudgments(scope);
        // A cleaned export writes one row per comparison, from its first judgment: only those
        // are read (with their texts), not every judgment.
        const progress = new Progress({
          label: `export ${format.key}`,
          unit: plan ? "comparisons" : "judgments",
          total: plan ? await snap.countJudgedComparisons(scope) : judgments,
          enabled: !o.quiet && process.stderr.isTTY && o.out !== "-",
        });
        for await (const j of plan ? snap.firstJudgments(scope) : snap.judgments(scope)) {
          progress.update(++n);
          if (plan) {
            const chosen = plan.choose(j);
            if (chosen) await exporter.write(chosen);
            else dropped[dropReason(plan, j)]++;
            continue;
          }
          await exporter.write(j);
        }
        progress.finish();
        return judgments;
      });
      await exporter.commit();
      return {
        format: format.key,
        out: o.out,
        ...(o.project ? { project: o.project } : {}),
        judgments,
        written: exporter.written,
        skipped: exporter.skipped,
        skips: { ...exporter.skips },
        ...(plan ? { dropped } : {}),
      };
    } catch (e) {
      await exporter.abort();
      throw e;
    }
  });
  if (o.out === "-") {
    // stdout carries the data; the summary goes to stderr.
    if (!o.quiet) process.stderr.write(`${JSON.stringify(result)}\n`);
  } else if (o.json) printJson(result);
  else {
    printLine(
      `wrote ${result.written} rows to ${o.out} (${format.key}${o.clean ? ", cleaned: one row per comparison" : ""}${o.project ? `, project ${o.project}` : ""}) from ${result.judgments} judgments` +
        skippedText(result.skips) +
        (result.dropped ? droppedText(result.dropped, o.audit) : ""),
    );
  }
}

/** Why `--clean` wrote no row for a comparison (CleanPlan.choose's reasons). */
type DropReason = "excluded" | "undecided" | "unaudited";

function dropReason(plan: CleanPlan, j: Judgment): DropReason {
  const c = plan.byId.get(j.comparison_id);
  if (!c) return "unaudited";
  return c.excluded || c.weight <= 0 ? "excluded" : "undecided";
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function skippedText(skips: Readonly<Record<SkipReason, number>>): string {
  const parts = [
    ...(skips.tie > 0 ? [`${plural(skips.tie, "tie", "ties")} (no chosen/rejected)`] : []),
    ...(skips.identical > 0
      ? [
          `${plural(skips.identical, "judgment", "judgments")} of two identical responses (no preferred item)`,
        ]
      : []),
  ];
  return parts.length > 0 ? `; skipped ${parts.join(", ")}` : "";
}

/** The comparisons a cleaned export leaves out, said, so that none goes missing unnoticed. */
function droppedText(d: Readonly<Record<DropReason, number>>, audit: string | undefined): string {
  const parts = [
    ...(d.excluded > 0 ? [`${d.excluded} excluded by the audit`] : []),
    ...(d.undecided > 0 ? [`${d.undecided} without a preference (p_a = 0.5)`] : []),
    ...(d.unaudited > 0
      ? [
          `${d.unaudited} not in the audit${audit !== undefined ? ` (judged after ${audit} was made? audit the store again)` : ""}`,
        ]
      : []),
  ];
  const total = d.excluded + d.undecided + d.unaudited;
  return total > 0
    ? `; left out ${plural(total, "comparison", "comparisons")}: ${parts.join(", ")}`
    : "";
}
