/**
 * Gold answers: `{comparison_id, gold}` or crowd-kit's `task,true_label` (`label` is accepted
 * for the answer too), as CSV with a header or as JSONL objects, like the other crowd-kit tables.
 */
import type { Where } from "../../core/errors.js";
import { GoldSchema } from "../../core/schemas.js";
import type { GoldAnswer, Parsed } from "../../core/types.js";
import { parseCsvBatches } from "../csv.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../jsonl.js";
import { renameAliases, stringifyCells, type TableFormat, tableFormatOf } from "./crowdkit.js";

const validateGold = validateWith(GoldSchema);
const ALIASES = { task: "comparison_id", true_label: "gold", label: "gold" } as const;

export function parseGoldBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<GoldAnswer>[]> {
  if (tableFormatOf(path, opts.format) === "csv") {
    return parseCsvBatches(
      path,
      {
        required: ["comparison_id", "gold"],
        aliases: ALIASES,
      },
      (row, where) => validateGold(row, where),
    );
  }
  return parseJsonlBatches(path, (v, where) =>
    validateGold(renameAliases(crowdKitCells(v, where), ALIASES, where), where),
  );
}

/**
 * A record in crowd-kit's keys (`task`, `true_label`) may hold numbers, read as the labels
 * table reads them (`{"task": 7}` is the task "7" there): a gold answer must join its labels.
 * keel's own `{comparison_id, gold}` keeps strings only, as a judgment's comparison_id does.
 */
function crowdKitCells(v: unknown, where: Where): unknown {
  if (!v || typeof v !== "object" || Array.isArray(v)) return v;
  const crowd = Object.keys(ALIASES).some((k) => Object.hasOwn(v, k));
  return crowd ? stringifyCells(v, where) : v;
}

export function readGold(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<{ record: GoldAnswer; line: number }> {
  return strictRecords(parseGoldBatches(path, opts));
}
