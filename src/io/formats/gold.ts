/**
 * Gold answers: JSONL `{comparison_id, gold}` or a crowd-kit style CSV `task,true_label`
 * (`label` and `gold` are accepted as the answer column; `comparison_id` for `task`).
 */
import { GoldSchema } from "../../core/schemas.js";
import type { GoldAnswer, Parsed } from "../../core/types.js";
import { parseCsvBatches } from "../csv.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../jsonl.js";
import { type TableFormat, tableFormatOf } from "./crowdkit.js";

const validateGold = validateWith(GoldSchema);

export function parseGoldBatches(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<Parsed<GoldAnswer>[]> {
  if (tableFormatOf(path, opts.format) === "csv") {
    return parseCsvBatches(
      path,
      {
        required: ["comparison_id", "gold"],
        aliases: { task: "comparison_id", true_label: "gold", label: "gold" },
      },
      (row, where) => validateGold(row, where),
    );
  }
  return parseJsonlBatches(path, validateGold);
}

export function readGold(
  path: string,
  opts: { format?: TableFormat } = {},
): AsyncGenerator<{ record: GoldAnswer; line: number }> {
  return strictRecords(parseGoldBatches(path, opts));
}
