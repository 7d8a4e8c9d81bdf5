/**
 * crowd-kit tables (Toloka's crowd-kit names): categorical `task,worker,label`, pairwise
 * `worker,left,right,label` where label is the preferred item, gold `task,true_label`; each as
 * CSV with a header or as JSONL objects with those keys. `performer` (crowd-kit's older name)
 * is accepted for `worker`.
 */
import { contentId } from "../../core/digest.js";
import { KeelError, type Where } from "../../core/errors.js";
import { CategoricalLabelSchema, ChoiceSchema, PairwiseLabelSchema } from "../../core/schemas.js";
import type {
  CategoricalLabel,
  Judgment,
  JudgmentRef,
  PairwiseLabel,
  Parsed,
} from "../../core/types.js";
import { csvField, parseCsvBatches } from "../csv.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../jsonl.js";
import { pairComparisonId } from "./trl.js";

export type TableFormat = "csv" | "jsonl";

export function tableFormatOf(path: string, explicit?: TableFormat): TableFormat {
  if (explicit) return explicit;
  return /\.(csv|tsv)$/i.test(path) ? "csv" : "jsonl";
}

const ALIASES = { performer: "worker" } as const;
const validateCategorical = validateWith(CategoricalLabelSchema);
const validatePairwise = validateWith(PairwiseLabelSchema);

/**
 * A JSONL record with its alias keys renamed (alias → canonical name), as the CSV reader does
 * with a header. A record that gives both an alias and its canonical key is rejected, as a
 * header naming one column twice is: keeping either would drop the other's value unseen.
 */
export function renameAliases(
  value: unknown,
  aliases: Readonly<Record<string, string>>,
  where: Where,
): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  if (!Object.keys(aliases).some((k) => Object.hasOwn(record, k))) return value;
  const out: [string, unknown][] = [];
  const from = new Map<string, string>();
  for (const [k, v] of Object.entries(record)) {
    const name = Object.hasOwn(aliases, k) ? aliases[k]! : k;
    const other = from.get(name);
    if (other !== undefined) {
      throw new KeelError(
        "KEEL_E_INVALID_RECORD",
        `both ${JSON.stringify(other)} and ${JSON.stringify(k)} are given; they name the same field`,
        { where: { ...where, field: name }, hint: `keep one of ${other} and ${k}` },
      );
    }
    from.set(name, k);
    out.push([name, v]);
  }
  // fromEntries defines keys: an assignment `out["__proto__"] = v` would drop the key unseen.
  return Object.fromEntries(out);
}

/**
 * JSONL cells may be numbers (pandas writes ints); tables compare them as strings, so a number
 * is read by its value: 1, 1.0 and 1e0 are all the label "1" (JSON cannot tell them apart), as
 * -0 is "0". Not a whole number past 2^53, which JSON.parse has already rounded
 * (9007199254740993 arrives as …992, another task's id), nor one past the largest double
 * (1e999 arrives as Infinity): those are refused at their field, to be written as strings.
 */
export function stringifyCells(value: unknown, where: Where): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  // fromEntries defines keys: an assignment `out["__proto__"] = v` would drop the key unseen.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (typeof v === "number") return [k, numberCell(v, { ...where, field: k })];
      return [k, typeof v === "boolean" ? String(v) : v];
    }),
  );
}

function numberCell(v: number, where: Where): string {
  const lossy = !Number.isFinite(v)
    ? "past the largest number JSON readers hold"
    : Number.isInteger(v) && !Number.isSafeInteger(v)
      ? "a whole number past 2^53, which JSON readers round"
      : undefined;
  if (lossy === undefined) return String(v);
  throw new KeelError("KEEL_E_INVALID_RECORD", `is ${lossy} (read as ${v})`, {
    where,
    hint: 'write it as a string, digits in quotes ("…")',
  });
}

export function parseCategoricalBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<CategoricalLabel>[]> {
  if (tableFormatOf(path, opts.format) === "csv") {
    return parseCsvBatches(
      path,
      { required: ["task", "worker", "label"], aliases: ALIASES },
      (row, where) => validateCategorical(row, where),
    );
  }
  return parseJsonlBatches(path, (v, where) =>
    validateCategorical(stringifyCells(renameAliases(v, ALIASES, where), where), where),
  );
}

export function parsePairwiseBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<PairwiseLabel>[]> {
  if (tableFormatOf(path, opts.format) === "csv") {
    return parseCsvBatches(
      path,
      { required: ["worker", "left", "right", "label"], aliases: ALIASES },
      (row, where) => validatePairwise(row, where),
    );
  }
  return parseJsonlBatches(path, (v, where) =>
    validatePairwise(stringifyCells(renameAliases(v, ALIASES, where), where), where),
  );
}

export function readCategoricalLabels(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<{ record: CategoricalLabel; line: number }> {
  return strictRecords(parseCategoricalBatches(path, opts));
}

export function readPairwiseLabels(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<{ record: PairwiseLabel; line: number }> {
  return strictRecords(parsePairwiseBatches(path, opts));
}

/** A categorical row as a judgment of an already-stored comparison (label must be a/b/tie). */
export function categoricalToRef(label: CategoricalLabel, where: Where): JudgmentRef {
  const choice = ChoiceSchema.safeParse(label.label);
  if (!choice.success) {
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      `label ${JSON.stringify(label.label)} is not a comparison choice (a, b or tie); to aggregate arbitrary labels use keel aggregate`,
      { where: { ...where, field: "label" } },
    );
  }
  return { comparison_id: label.task, rater_id: label.worker, choice: choice.data };
}

/**
 * A pairwise row as a judgment: the items become the two responses (in sorted order, so each
 * unordered pair is one comparison) of an empty prompt; the on-screen order goes to shown_order.
 */
export function pairwiseToJudgment(label: PairwiseLabel): Judgment {
  const swapped = label.left > label.right;
  const a = swapped ? label.right : label.left;
  const b = swapped ? label.left : label.right;
  return {
    comparison_id: pairComparisonId("pair", "", a, b),
    prompt: "",
    response_a: a,
    response_b: b,
    rater_id: label.worker,
    choice: label.label === a ? "a" : "b",
    shown_order: swapped ? "ba" : "ab",
  };
}

export async function* parseCategoricalRefBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<JudgmentRef>[]> {
  for await (const batch of parseCategoricalBatches(path, opts)) {
    yield batch.map((p): Parsed<JudgmentRef> => {
      if (!p.ok) return p;
      try {
        return {
          ok: true,
          line: p.line,
          record: categoricalToRef(p.record, { file: path, line: p.line }),
        };
      } catch (e) {
        if (!(e instanceof KeelError)) throw e;
        return { ok: false, line: p.line, error: e, raw: JSON.stringify(p.record) };
      }
    });
  }
}

export async function* parsePairwiseJudgmentBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<Judgment>[]> {
  for await (const batch of parsePairwiseBatches(path, opts)) {
    yield batch.map(
      (p): Parsed<Judgment> =>
        p.ok ? { ok: true, line: p.line, record: pairwiseToJudgment(p.record) } : p,
    );
  }
}

/** Categorical row for export: task = comparison, worker = rater, label = choice. */
export function judgmentToCategorical(j: Judgment): CategoricalLabel {
  return { task: j.comparison_id, worker: j.rater_id, label: j.choice };
}

/**
 * Pairwise row for export, or undefined when there is no preferred item: a tie, or two
 * identical responses (one item; a row comparing it with itself is one that crowd-kit's models
 * cannot use and that `keel import` refuses, "left and right must differ").
 */
export function judgmentToPairwise(j: Judgment): PairwiseLabel | undefined {
  if (j.choice === "tie") return undefined;
  const a = contentId(j.response_a);
  const b = contentId(j.response_b);
  if (a === b) return undefined;
  const [left, right] = j.shown_order === "ba" ? [b, a] : [a, b];
  return { worker: j.rater_id, left, right, label: j.choice === "a" ? a : b };
}

export function csvRow(values: readonly string[]): string {
  return `${values.map(csvField).join(",")}\n`;
}
