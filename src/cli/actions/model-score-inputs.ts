/**
 * What `keel model score` reads: a file of preference pairs, keel judgments or responses (told
 * apart by their first row), or a store's judgments, as the texts to score with their input
 * lines (and, for judgments, their comparisons and raters); and the distinct (prompt, response)
 * pairs among them, each scored once.
 */
import { z } from "zod";
import { KeelError, type Where } from "../../core/errors.js";
import { readUtf8File } from "../../core/files.js";
import { redactUrl } from "../../core/redact.js";
import { parseRecord } from "../../core/schemas.js";
import { contentToText } from "../../core/types.js";
import {
  isJudgmentsText,
  JudgmentRowSchema,
  PairRowSchema,
  RowText,
  readJsonl,
} from "./pair-files.js";
import { withStore } from "./with-store.js";

/**
 * A response to score: `response`, or `completion` as `keel model generate --out` and TRL's
 * prompt-completion rows name it (what one command writes, the next reads as it is).
 */
const ResponseRowSchema = z
  .object({
    prompt: RowText,
    response: RowText.optional(),
    completion: RowText.optional(),
  })
  .refine((r) => (r.response === undefined) !== (r.completion === undefined), {
    message: "needs exactly one of response and completion (the text to score)",
    path: ["response"],
  })
  .transform((r) => ({ prompt: r.prompt, response: (r.response ?? r.completion)! }));

const WHAT_SCORE_READS =
  "expected preference pairs {prompt, chosen, rejected}, keel judgments {comparison_id, prompt, response_a, response_b, choice} or responses {prompt, response} (or {prompt, completion}, as keel model generate --out writes)";

/**
 * Which rows a file holds, by its first row's keys (a text that merely quotes "chosen" is not a
 * pair). A first row that is not JSON is judged by its text; its reader then reports the line.
 */
function rowKind(first: string): "pairs" | "responses" | undefined {
  let keys: (k: string) => boolean;
  try {
    const row: unknown = JSON.parse(first);
    if (typeof row !== "object" || row === null) return undefined;
    keys = (k) => Object.hasOwn(row, k);
  } catch {
    keys = (k) => first.includes(`"${k}"`);
  }
  if (keys("chosen") || keys("rejected")) return "pairs";
  if (keys("response") || keys("completion")) return "responses";
  return undefined;
}

/** What is scored: pairs (two texts each) or single responses, with their input lines. */
export interface Inputs {
  readonly kind: "pairs" | "judgments" | "responses";
  readonly prompts: string[];
  /** Pairs: chosen, rejected, chosen, rejected, …; responses: one per prompt. */
  readonly texts: string[];
  readonly lines: number[];
  readonly ids?: string[];
  /** Judgments: each pair's rater. */
  readonly raters?: string[];
  /** Judgments left out because they are ties. */
  readonly ties: number;
}

/** A judgment as scored: texts flattened to strings, `line` its file line or ledger seq. */
interface JudgmentRow {
  readonly line: number;
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly prompt: string;
  readonly response_a: string;
  readonly response_b: string;
  readonly choice: "a" | "b" | "tie";
}

/** Judgments as chosen/rejected pairs (ties counted and left out), with their raters. */
function judgmentInputs(rows: Iterable<JudgmentRow>): Inputs {
  const out = {
    kind: "judgments" as const,
    prompts: [] as string[],
    texts: [] as string[],
    lines: [] as number[],
    ids: [] as string[],
    raters: [] as string[],
    ties: 0,
  };
  for (const j of rows) {
    if (j.choice === "tie") {
      out.ties++;
      continue;
    }
    const [c, r] = j.choice === "a" ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
    out.prompts.push(j.prompt, j.prompt);
    out.texts.push(c, r);
    out.lines.push(j.line);
    out.ids.push(j.comparison_id);
    out.raters.push(j.rater_id);
  }
  return out;
}

/**
 * The judgments of a store, in ledger order (`line` is the ledger sequence number). Each
 * comparison's texts are kept once, however many raters judged it, and each prompt once: the
 * store hands every judgment its own copies (reading a 1M-judgment store: 601 MB of heap with
 * them, 249 MB kept once).
 */
export async function storeInputs(db: string): Promise<Inputs> {
  const rows: JudgmentRow[] = [];
  const texts = new Map<string, { prompt: string; a: string; b: string }>();
  const prompts = new Map<string, string>();
  await withStore(db, async (store) => {
    for await (const j of store.judgments()) {
      let t = texts.get(j.comparison_id);
      if (t === undefined) {
        const p = contentToText(j.prompt);
        let prompt = prompts.get(p);
        if (prompt === undefined) {
          prompt = p;
          prompts.set(p, p);
        }
        t = { prompt, a: contentToText(j.response_a), b: contentToText(j.response_b) };
        texts.set(j.comparison_id, t);
      }
      rows.push({
        line: j.seq,
        comparison_id: j.comparison_id,
        rater_id: j.rater_id,
        prompt: t.prompt,
        response_a: t.a,
        response_b: t.b,
        choice: j.choice,
      });
    }
  });
  if (rows.length === 0)
    throw new KeelError("KEEL_E_NOT_FOUND", "the store holds no judgments", {
      where: { file: redactUrl(db) },
    });
  return judgmentInputs(rows);
}

export function readInputs(file: string): Inputs {
  const text = readUtf8File(file);
  const lines: number[] = [];
  const prompts: string[] = [];
  const texts: string[] = [];
  const first = text.split("\n").find((l) => l.trim());
  if (first === undefined)
    throw new KeelError("KEEL_E_INVALID_RECORD", "no rows in the file", { where: { file } });
  // The row's line number, carried through the reader.
  const lined =
    <T>(schema: z.ZodType<T>) =>
    (v: unknown, where: Where) => ({ row: parseRecord(schema, v, where), line: where.line ?? 0 });
  if (isJudgmentsText(text)) {
    try {
      const rows = readJsonl(file, lined(JudgmentRowSchema.extend({ rater_id: z.string() })), text);
      return judgmentInputs(rows.map(({ row, line }) => ({ ...row, line })));
    } catch (e) {
      // keel generate's candidates look like judgments until the choice a rater has not made yet
      if (e instanceof KeelError && e.where?.field === "choice" && !/"choice"/.test(first))
        throw e.withHint(
          "these look like candidate pairs (keel generate --out), which no rater has judged yet: collect judgments first (keel project create --items), or score each response as {prompt, response} rows",
        );
      throw e;
    }
  }
  const kind = rowKind(first);
  if (kind === "pairs") {
    for (const { row: p, line } of readJsonl(file, lined(PairRowSchema), text)) {
      prompts.push(p.prompt, p.prompt);
      texts.push(p.chosen, p.rejected);
      lines.push(line);
    }
    return { kind: "pairs", prompts, texts, lines, ties: 0 };
  }
  if (kind === "responses") {
    for (const { row: r, line } of readJsonl(file, lined(ResponseRowSchema), text)) {
      prompts.push(r.prompt);
      texts.push(r.response);
      lines.push(line);
    }
    return { kind: "responses", prompts, texts, lines, ties: 0 };
  }
  throw new KeelError(
    "KEEL_E_INVALID_RECORD",
    `not a file keel model score reads: ${WHAT_SCORE_READS}`,
    { where: { file, line: text.split("\n").indexOf(first) + 1 } },
  );
}

/**
 * The distinct (prompt, response) pairs of the inputs: `unique` holds the index of each one's
 * first occurrence, `slot[i]` the place of input i's pair in `unique`. Keys are the inputs' own
 * strings, so the maps add no copies of the texts.
 */
export function distinctResponses(
  prompts: readonly string[],
  texts: readonly string[],
): { unique: number[]; slot: Int32Array } {
  const byPrompt = new Map<string, Map<string, number>>();
  const unique: number[] = [];
  const slot = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    let byText = byPrompt.get(prompts[i]!);
    if (byText === undefined) {
      byText = new Map();
      byPrompt.set(prompts[i]!, byText);
    }
    let k = byText.get(texts[i]!);
    if (k === undefined) {
      k = unique.length;
      unique.push(i);
      byText.set(texts[i]!, k);
    }
    slot[i] = k;
  }
  return { unique, slot };
}
