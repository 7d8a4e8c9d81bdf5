/**
 * Every import format, in one explicit list. A format turns a file into batches of parsed
 * records of one kind: full judgments (texts included), references to stored comparisons,
 * gold answers, or raters. `detectFormat` guesses the format from the file's first record.
 */
import { KeelError } from "../core/errors.js";
import type { GoldAnswer, Judgment, JudgmentRef, Parsed, Rater } from "../core/types.js";
import {
  parseCategoricalRefBatches,
  parsePairwiseJudgmentBatches,
  type TableFormat,
  tableFormatOf,
} from "./formats/crowdkit.js";
import { parseGoldBatches } from "./formats/gold.js";
import { parseHhBatches } from "./formats/hh.js";
import { parseJudgmentBatches } from "./formats/judgments.js";
import { parseRaterBatches } from "./formats/raters.js";
import { parseTrlBatches } from "./formats/trl.js";
import { firstNonBlankLine } from "./lines.js";

export interface ImportOptions {
  /** Rater id for preference datasets that name no rater. */
  readonly raterId?: string;
  /** Force CSV or JSONL for table formats (default: by file extension). */
  readonly table?: TableFormat;
}

type Batches<T> = AsyncGenerator<Parsed<T>[]>;

export type ImportFormat =
  | {
      key: string;
      description: string;
      kind: "judgments";
      parse(path: string, o: ImportOptions): Batches<Judgment>;
    }
  | {
      key: string;
      description: string;
      kind: "refs";
      parse(path: string, o: ImportOptions): Batches<JudgmentRef>;
    }
  | {
      key: string;
      description: string;
      kind: "gold";
      parse(path: string, o: ImportOptions): Batches<GoldAnswer>;
    }
  | {
      key: string;
      description: string;
      kind: "raters";
      parse(path: string, o: ImportOptions): Batches<Rater>;
    };

export const IMPORT_FORMATS: readonly ImportFormat[] = [
  {
    key: "judgments",
    description:
      "keel judgments JSONL (comparison_id, prompt, response_a, response_b, rater_id, choice, …)",
    kind: "judgments",
    parse: (p) => parseJudgmentBatches(p),
  },
  {
    key: "trl",
    description: "TRL preference JSONL (prompt, chosen, rejected; strings or message lists)",
    kind: "judgments",
    parse: (p, o) => parseTrlBatches(p, o.raterId === undefined ? {} : { raterId: o.raterId }),
  },
  {
    key: "hh-rlhf",
    description: "Anthropic HH-RLHF JSONL (chosen, rejected full transcripts)",
    kind: "judgments",
    parse: (p, o) => parseHhBatches(p, o.raterId === undefined ? {} : { raterId: o.raterId }),
  },
  {
    key: "crowd-kit",
    description:
      "crowd-kit categorical table task,worker,label (CSV or JSONL); labels a/b/tie for stored comparisons",
    kind: "refs",
    parse: (p, o) => parseCategoricalRefBatches(p, o.table ? { format: o.table } : {}),
  },
  {
    key: "crowd-kit-pairwise",
    description: "crowd-kit pairwise table worker,left,right,label (CSV or JSONL)",
    kind: "judgments",
    parse: (p, o) => parsePairwiseJudgmentBatches(p, o.table ? { format: o.table } : {}),
  },
  {
    key: "gold",
    description: "gold answers: JSONL {comparison_id, gold} or CSV task,true_label",
    kind: "gold",
    parse: (p, o) => parseGoldBatches(p, o.table ? { format: o.table } : {}),
  },
  {
    key: "raters",
    description: "raters JSONL {rater_id, attributes: {…}}",
    kind: "raters",
    parse: (p) => parseRaterBatches(p),
  },
];

export function importFormat(key: string): ImportFormat {
  const f = IMPORT_FORMATS.find((x) => x.key === key);
  if (!f) {
    throw new KeelError("KEEL_E_UNKNOWN_FORMAT", `unknown import format ${JSON.stringify(key)}`, {
      hint: `use one of: auto, ${IMPORT_FORMATS.map((x) => x.key).join(", ")}`,
    });
  }
  return f;
}

/** Guesses the format from the first non-empty line (header row for CSV, keys for JSONL). */
export async function detectFormat(path: string, table?: TableFormat): Promise<string> {
  const found = await firstNonBlankLine(path);
  const first = found?.text;
  const lineNo = found?.line ?? 0;
  if (first === undefined)
    throw new KeelError("KEEL_E_UNKNOWN_FORMAT", "file is empty", { where: { file: path } });
  let keys: Set<string>;
  if (tableFormatOf(path, table) === "csv") {
    keys = new Set(first.split(",").map((h) => h.trim().replace(/^"|"$/g, "")));
  } else {
    try {
      const v = JSON.parse(first) as unknown;
      keys = new Set(v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : []);
    } catch {
      throw new KeelError("KEEL_E_UNKNOWN_FORMAT", "first record is not JSON; pass --format", {
        where: { file: path, line: lineNo },
      });
    }
  }
  const has = (...ks: string[]) => ks.every((k) => keys.has(k));
  if (has("comparison_id", "rater_id") && (keys.has("prompt") || keys.has("choice")))
    return "judgments";
  if (has("prompt", "chosen", "rejected")) return "trl";
  if (has("chosen", "rejected")) {
    return /\\n\\nHuman:|\n\nHuman:/.test(first) ? "hh-rlhf" : "trl";
  }
  if (has("left", "right", "label")) return "crowd-kit-pairwise";
  if (has("task", "label") && (keys.has("worker") || keys.has("performer"))) return "crowd-kit";
  if (has("rater_id", "attributes") || (keys.size === 1 && keys.has("rater_id"))) return "raters";
  if ((has("comparison_id", "gold") || has("task", "true_label")) && keys.size <= 3) return "gold";
  throw new KeelError(
    "KEEL_E_UNKNOWN_FORMAT",
    `cannot tell the format from the keys ${[...keys].map((k) => JSON.stringify(k)).join(", ")}`,
    {
      where: { file: path, line: lineNo },
      hint: `pass --format (${IMPORT_FORMATS.map((x) => x.key).join(", ")})`,
    },
  );
}
