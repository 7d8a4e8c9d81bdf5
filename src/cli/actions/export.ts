/** `keel export`'s action: stream the ledger through the chosen exporter, atomically. */
import { KeelError } from "../../core/errors.js";
import { exportFormat } from "../../io/exporters.js";
import type { ExportFlags } from "../commands/export.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import { withStore } from "./with-store.js";

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
  if (o.marginKey && !o.margin)
    throw new KeelError(
      "KEEL_E_USAGE",
      "--margin-key names the margin that --margin adds; give --margin",
    );
  // The audit (defenses, and perhaps a safety model) is loaded only when --clean needs it.
  const plan = o.clean ? await (await import("./audit.js")).cleanPlanFor(o) : undefined;
  const exporter = format.open(o.out, {
    ...(o.table ? { table: o.table } : {}),
    openrlhfKeys: keys,
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
  const result = await withStore(o.db, async (store) => {
    // A cleaned export writes one row per comparison, from its first judgment: only those are
    // read (with their texts), not every judgment.
    const judgments = await store.countJudgments();
    const progress = new Progress({
      label: `export ${format.key}`,
      unit: plan ? "comparisons" : "judgments",
      total: plan ? await store.countJudgedComparisons() : judgments,
      enabled: !o.quiet && process.stderr.isTTY && o.out !== "-",
    });
    let n = 0;
    try {
      for await (const j of plan ? store.firstJudgments() : store.judgments()) {
        progress.update(++n);
        if (plan) {
          const chosen = plan.choose(j);
          if (chosen) await exporter.write(chosen);
          continue;
        }
        await exporter.write(j);
      }
      await exporter.commit();
    } catch (e) {
      await exporter.abort();
      throw e;
    }
    progress.finish();
    return {
      format: format.key,
      out: o.out,
      judgments: plan ? judgments : n,
      written: exporter.written,
      skipped: exporter.skipped,
    };
  });
  if (o.out === "-") {
    // stdout carries the data; the summary goes to stderr.
    if (!o.quiet) process.stderr.write(`${JSON.stringify(result)}\n`);
  } else if (o.json) printJson(result);
  else {
    printLine(
      `wrote ${result.written} rows to ${o.out} (${format.key}${o.clean ? ", cleaned: one row per comparison" : ""}) from ${result.judgments} judgments` +
        (result.skipped > 0 ? `; ${result.skipped} skipped (ties have no chosen/rejected)` : ""),
    );
  }
}
