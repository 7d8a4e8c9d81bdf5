/**
 * `keel stats`'s action: count in the store, print a summary and the top raters and prompts,
 * and with `--by` the raters grouped by one of their attributes.
 */
import { compareText } from "../../core/canonical.js";
import { percentOf } from "../../core/percent.js";
import { printable } from "../../core/printable.js";
import type { Rater } from "../../core/types.js";
import { type RaterStats, storeStats } from "../../store/stats.js";
import type { StatsFlags } from "../commands/stats.js";
import { shortHash } from "../common.js";
import { clip, count, formatTable, printJson, printLine } from "../output.js";
import { withStore } from "./with-store.js";

/**
 * Rater ids, attribute values and prompts are untrusted: JSON escapes C0 controls but not C1's
 * one-byte CSI (U+009B) or bidirectional overrides, which `printable` writes as \u escapes.
 */
const quoted = (text: string, max: number) => clip(printable(JSON.stringify(text)), max);

const pct = percentOf;

/** judgments, A, B, tie, gold seen, gold acc: the columns raters and groups share. */
function countCells(c: Omit<RaterStats, "rater_id">): (string | number)[] {
  return [
    c.judgments,
    pct(c.a, c.judgments),
    pct(c.b, c.judgments),
    pct(c.tie, c.judgments),
    c.gold_seen,
    pct(c.gold_correct, c.gold_seen),
  ];
}

/** How the table shows the group of raters without the attribute (null in --json). */
const NONE = "(none)";

interface AttributeGroup {
  /** null: the raters without the attribute (apart from any whose value is the text "(none)"). */
  readonly value: string | null;
  raters: number;
  judgments: number;
  a: number;
  b: number;
  tie: number;
  gold_seen: number;
  gold_correct: number;
}

/** Per-rater counts summed per value of one rater attribute, most judgments first. */
function groupBy(perRater: readonly RaterStats[], raters: readonly Rater[], attribute: string) {
  // An own string value only: `--by constructor` must not find Object's own properties.
  const attributeOf = (attrs: Readonly<Record<string, string>>) => {
    const v = Object.hasOwn(attrs, attribute) ? attrs[attribute] : undefined;
    return typeof v === "string" ? v : null;
  };
  const valueByRater = new Map(raters.map((r) => [r.rater_id, attributeOf(r.attributes)]));
  const groups = new Map<string | null, AttributeGroup>();
  for (const r of perRater) {
    const value = valueByRater.get(r.rater_id) ?? null;
    let g = groups.get(value);
    if (!g) {
      g = { value, raters: 0, judgments: 0, a: 0, b: 0, tie: 0, gold_seen: 0, gold_correct: 0 };
      groups.set(value, g);
    }
    g.raters++;
    g.judgments += r.judgments;
    g.a += r.a;
    g.b += r.b;
    g.tie += r.tie;
    g.gold_seen += r.gold_seen;
    g.gold_correct += r.gold_correct;
  }
  return [...groups.values()].sort(
    (x, y) =>
      y.judgments - x.judgments ||
      (x.value === null ? 1 : y.value === null ? -1 : compareText(x.value, y.value)),
  );
}

export async function runStats(o: StatsFlags): Promise<void> {
  const { s, groups } = await withStore(o.db, async (store) => {
    const s = await storeStats(store, o.json ? {} : { top: o.top });
    const groups = o.by ? groupBy(s.per_rater, await store.raters(), o.by) : undefined;
    return { s, groups };
  });
  if (o.json) {
    printJson(groups ? { ...s, by: { attribute: o.by, groups } } : s);
    return;
  }
  const total = s.judgments;
  printLine(
    `${count(s.judgments, "judgment")} by ${count(s.raters, "rater")} on ${count(s.comparisons, "comparison")} (${s.gold_comparisons} gold) over ${count(s.prompts, "prompt")}`,
  );
  printLine(
    `choices: A ${s.choices.a} (${pct(s.choices.a, total)})  B ${s.choices.b} (${pct(s.choices.b, total)})  tie ${s.choices.tie} (${pct(s.choices.tie, total)})`,
  );
  printLine(`ledger head: #${s.head.seq} ${shortHash(s.head.hash)}`);
  if (s.per_rater.length > 0) {
    const raters = [...s.per_rater].sort(
      (x, y) => y.judgments - x.judgments || compareText(x.rater_id, y.rater_id),
    );
    printLine();
    printLine(`raters (${Math.min(o.top, raters.length)} of ${raters.length}, most active first):`);
    printLine(
      formatTable(
        ["rater", "judgments", "A", "B", "tie", "gold seen", "gold acc"],
        raters.slice(0, o.top).map((r) => [printable(r.rater_id), ...countCells(r)]),
      ),
    );
  }
  if (groups) {
    printLine();
    const known = groups.filter((g) => g.value !== null).length;
    printLine(
      known === 0
        ? `raters by ${JSON.stringify(o.by)}: no rater has this attribute (keel import --format raters sets attributes)`
        : `raters by ${JSON.stringify(o.by)} (${known} value${known === 1 ? "" : "s"}):`,
    );
    printLine(
      formatTable(
        [o.by!, "raters", "judgments", "A", "B", "tie", "gold seen", "gold acc"],
        groups.map((g) => [
          g.value === null ? NONE : quoted(g.value, 40),
          g.raters,
          ...countCells(g),
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
        s.per_prompt.map((p) => [quoted(p.preview, 60), p.comparisons, p.judgments]),
      ),
    );
  }
}
