/**
 * Gold answers: `{comparison_id, gold}` or crowd-kit's `task,true_label` (`label` is accepted
 * for the answer too), as CSV with a header or as JSONL objects, like the other crowd-kit tables.
 */
import { GoldSchema } from "../../core/schemas.js";
import type { GoldAnswer, Parsed } from "../../core/types.js";
import { parseCsvBatches } from "../csv.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../jsonl.js";
import { renameAliases, type TableFormat, tableFormatOf } from "./crowdkit.js";

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
    validateGold(renameAliases(v, ALIASES, where), where),
  );
}

export function readGold(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<{ record: GoldAnswer; line: number }> {
  return strictRecords(parseGoldBatches(path, opts));
}
