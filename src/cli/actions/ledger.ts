/** `keel ledger verify|head`'s actions. */
import { KeelError } from "../../core/errors.js";
import type { LedgerFlags, VerifyFlags } from "../commands/ledger.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import { withStore } from "./with-store.js";

export async function runVerify(o: VerifyFlags): Promise<void> {
  const report = await withStore(o.db, async (store) => {
    const progress = new Progress({
      label: "verify",
      unit: "judgments",
      total: await store.countJudgments(),
      enabled: !o.quiet && process.stderr.isTTY,
    });
    const r = await store.verifyLedger({
      ...(o.expectHead ? { expectHead: o.expectHead.toLowerCase() } : {}),
      onProgress: (n) => progress.update(n),
    });
    progress.finish();
    return r;
  });
  if (o.json) printJson(report);
  if (!report.ok) {
    const b = report.firstBreak!;
    throw new KeelError("KEEL_E_LEDGER_BROKEN", `${b.kind} at row ${b.seq}: ${b.message}`, {
      hint: "the store's feedback was altered outside keel; restore it from a backup or investigate before training on it",
    });
  }
  if (!o.json) {
    printLine(`ledger OK: ${report.rows} judgments and ${report.texts} texts verified`);
    printLine(`head: #${report.head.seq} ${report.head.hash}`);
  }
}

export async function runHead(o: LedgerFlags): Promise<void> {
  const h = await withStore(o.db, (store) => store.ledgerHead());
  if (o.json) printJson(h);
  else printLine(`${h.seq} ${h.hash}`);
}
