/** `keel ledger verify|head`'s actions. */
import { KeelError } from "../../core/errors.js";
import type { LedgerFlags, VerifyFlags } from "../commands/ledger.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import { withStore } from "./with-store.js";

/** What `keel ledger head` prints: `SEQ HASH`, or the hash alone. */
const ANCHOR = /^\s*(?:\d+\s+)?([0-9a-f]{64})\s*$/i;

export async function runVerify(o: VerifyFlags): Promise<void> {
  let expectHead: string | undefined;
  if (o.expectHead !== undefined) {
    const m = ANCHOR.exec(o.expectHead);
    // A mistyped anchor must not read as a rewritten ledger.
    if (!m) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `--expect-head ${JSON.stringify(o.expectHead)} is not a ledger head hash (64 hexadecimal digits)`,
        { hint: "pass the hash `keel ledger head` printed (its second field), or the whole line" },
      );
    }
    expectHead = m[1]!.toLowerCase();
  }
  const report = await withStore(o.db, async (store) => {
    const progress = new Progress({
      label: "verify",
      unit: "judgments",
      total: await store.countJudgments(),
      enabled: !o.quiet && process.stderr.isTTY,
    });
    const r = await store.verifyLedger({
      ...(expectHead ? { expectHead } : {}),
      onProgress: (n) => progress.update(n),
    });
    progress.finish();
    return r;
  });
  if (o.json) {
    // In the snake_case of keel's other machine-readable output (the library's report is camelCase).
    printJson({
      ok: report.ok,
      rows: report.rows,
      texts: report.texts,
      head: report.head,
      recorded_head: report.recordedHead,
      ...(report.anchoredAt !== undefined ? { anchored_at: report.anchoredAt } : {}),
      ...(report.firstBreak ? { first_break: report.firstBreak } : {}),
    });
  }
  if (!report.ok) {
    const b = report.firstBreak!;
    throw new KeelError("KEEL_E_LEDGER_BROKEN", `${b.kind} at row ${b.seq}: ${b.message}`, {
      hint: "the store's feedback was altered outside keel; restore it from a backup or investigate before training on it",
    });
  }
  if (!o.json) {
    printLine(`ledger OK: ${report.rows} judgments and ${report.texts} texts verified`);
    printLine(`head: #${report.head.seq} ${report.head.hash}`);
    if (report.anchoredAt !== undefined) {
      printLine(`anchored head found at #${report.anchoredAt}`);
    }
  }
}

export async function runHead(o: LedgerFlags): Promise<void> {
  const h = await withStore(o.db, (store) => store.ledgerHead());
  if (o.json) printJson(h);
  else printLine(`${h.seq} ${h.hash}`);
}
