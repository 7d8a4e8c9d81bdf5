/** `keel stats`'s action: count in the store, print a summary and the top raters and prompts. */
import { storeStats } from "../../store/stats.js";
import type { StatsFlags } from "../commands/stats.js";
import { shortHash } from "../common.js";
import { clip, formatTable, printJson, printLine } from "../output.js";
import { withStore } from "./with-store.js";

const pct = (x: number, n: number) => (n === 0 ? "-" : `${((100 * x) / n).toFixed(1)}%`);

export async function runStats(o: StatsFlags): Promise<void> {
  const s = await withStore(o.db, (store) => storeStats(store, o.json ? {} : { top: o.top }));
  if (o.json) {
    printJson(s);
    return;
  }
  const total = s.judgments;
  printLine(
    `${s.judgments} judgments by ${s.raters} raters on ${s.comparisons} comparisons (${s.gold_comparisons} gold) over ${s.prompts} prompts`,
  );
  printLine(
    `choices: A ${s.choices.a} (${pct(s.choices.a, total)})  B ${s.choices.b} (${pct(s.choices.b, total)})  tie ${s.choices.tie} (${pct(s.choices.tie, total)})`,
  );
  printLine(`ledger head: #${s.head.seq} ${shortHash(s.head.hash)}`);
  if (s.per_rater.length > 0) {
    const raters = [...s.per_rater].sort(
      (x, y) => y.judgments - x.judgments || x.rater_id.localeCompare(y.rater_id),
    );
    printLine();
    printLine(`raters (${Math.min(o.top, raters.length)} of ${raters.length}, most active first):`);
    printLine(
      formatTable(
        ["rater", "judgments", "A", "B", "tie", "gold seen", "gold acc"],
        raters
          .slice(0, o.top)
          .map((r) => [
            r.rater_id,
            r.judgments,
            pct(r.a, r.judgments),
            pct(r.b, r.judgments),
            pct(r.tie, r.judgments),
            r.gold_seen,
            pct(r.gold_correct, r.gold_seen),
          ]),
      ),
    );
  }
  if (s.per_prompt.length > 0) {
    printLine();
    printLine("prompts (most judged first):");
    printLine(
      formatTable(
        ["prompt", "comparisons", "judgments"],
        s.per_prompt.map((p) => [clip(JSON.stringify(p.preview), 60), p.comparisons, p.judgments]),
      ),
    );
  }
}
