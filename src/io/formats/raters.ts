/** Raters with free-form attributes: JSONL `{rater_id, attributes: {locale: "de", …}}`. */
import { RaterSchema } from "../../core/schemas.js";
import type { Parsed, Rater } from "../../core/types.js";
import { parseJsonlBatches, validateWith } from "../jsonl.js";

export function parseRaterBatches(path: string): AsyncGenerator<Parsed<Rater>[]> {
  return parseJsonlBatches(path, validateWith(RaterSchema));
}
