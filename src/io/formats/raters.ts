/** Raters with free-form attributes: JSONL `{rater_id, attributes: {locale: "de", …}}`. */
import { canonicalJson } from "../../core/canonical.js";
import { KeelError } from "../../core/errors.js";
import { RaterSchema } from "../../core/schemas.js";
import type { Parsed, Rater } from "../../core/types.js";
import { parseJsonlBatches, validateWith } from "../jsonl.js";

const validateRater = validateWith(RaterSchema);

/**
 * The file's raters. A rater given twice with other attributes is rejected at its second line,
 * as a contradicting gold answer is: keeping either record would drop the other unseen. (One
 * entry per rater is remembered; a file holds far fewer raters than judgments.)
 */
export async function* parseRaterBatches(path: string): AsyncGenerator<Parsed<Rater>[]> {
  const first = new Map<string, { readonly attributes: string; readonly line: number }>();
  for await (const batch of parseJsonlBatches(path, validateRater)) {
    yield batch.map((p): Parsed<Rater> => {
      if (!p.ok) return p;
      const attributes = canonicalJson(p.record.attributes);
      const seen = first.get(p.record.rater_id);
      if (seen === undefined) first.set(p.record.rater_id, { attributes, line: p.line });
      else if (seen.attributes !== attributes) {
        const error = new KeelError(
          "KEEL_E_CONFLICT",
          `rater ${JSON.stringify(p.record.rater_id)} is given again with other attributes (first on line ${seen.line})`,
          {
            where: { file: path, line: p.line, field: "attributes" },
            hint: "give each rater once, with all its attributes",
          },
        );
        return { ok: false, line: p.line, error, raw: JSON.stringify(p.record) };
      }
      return p;
    });
  }
}
