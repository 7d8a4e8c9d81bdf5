/**
 * zod schemas for everything that enters keel from outside: imported files, config, HTTP
 * bodies. Inside the program the parsed values are plain typed objects and are not checked again.
 * Unknown keys are errors, not warnings: a typo in a field name must not silently drop data.
 */
import { z } from "zod";
import { KeelError, type Where } from "./errors.js";
import { quote, zodIssueMessage } from "./issue-messages.js";
import { DECEPTIVE_CHARS } from "./printable.js";
import type {
  CategoricalLabel,
  Choice,
  Content,
  GoldAnswer,
  Judgment,
  PairwiseLabel,
  Rater,
} from "./types.js";

/** Longest text accepted in any one prompt or response field (characters). */
export const MAX_TEXT_CHARS = 1_000_000;
/** Longest identifier (rater id, comparison id). */
export const MAX_ID_CHARS = 256;

/**
 * Identifiers and names are printed in terminal tables and reports: no C0 or C1 control
 * characters (U+009B is a terminal's one-byte CSI), no bidirectional formatting marks
 * (U+200E/F, U+202A–E, U+2066–9, U+061C), which would let an id display as another
 * ("Trojan Source"), and no invisible characters (U+200B–D zero-width space and (non-)joiner,
 * U+2060 word joiner, U+FEFF), with which "alice\u200b" would show as the rater "alice". Texts
 * keep the invisible ones (emoji sequences are joined with U+200D); `printable` leaves them.
 */
const CONTROL_CHARS = `\\u0000-\\u001f${DECEPTIVE_CHARS}\\u200b-\\u200d\\u2060\\ufeff`;
const noControl = new RegExp(`^[^${CONTROL_CHARS}]*$`);
const NO_CONTROL = "must not contain control characters";

/**
 * No lone UTF-16 surrogate (with the `u` flag a surrogate pair reads as one code point, so only
 * an unpaired half is outside the class). JSON may spell one (`"\ud800"`), but the databases
 * store text as UTF-8, which cannot: SQLite would keep U+FFFD instead, PostgreSQL refuses it,
 * and a judgment hashed before that change would fail `keel ledger verify` ever after.
 * Written as a pattern so that the server's JSON Schemas (Ajv, `u` flag) check it too.
 */
export const WELL_FORMED = /^[^\ud800-\udfff]*$/u;
export const NOT_WELL_FORMED =
  "must be valid Unicode text (it holds a lone UTF-16 surrogate, such as an escaped \\ud800)";

/** The same check without a regular expression, for the import's fast path. */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * A length check after which, when it fails, no later check of the string runs: those are
 * pointless on a string already refused, and WELL_FORMED's (a `u` pattern) ran out of V8's
 * regexp stack on one of some 16 million characters that are not all Latin-1, a RangeError
 * instead of the length error.
 */
function atMost(max: number) {
  return { error: `must be at most ${max} characters`, abort: true };
}
const ABORT = { abort: true };

/** PostgreSQL's text type cannot hold NUL (SQLite can, but a store must not depend on which). */
const NO_NUL = /^[^\u0000]*$/;

/** A string of at most `max` characters that the stores keep exactly as given. */
export function storableString(max: number) {
  return z
    .string()
    .max(max, atMost(max))
    .regex(NO_NUL, "must not contain NUL characters")
    .regex(WELL_FORMED, NOT_WELL_FORMED);
}

export const IdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_ID_CHARS, atMost(MAX_ID_CHARS))
  .regex(noControl, NO_CONTROL)
  .regex(WELL_FORMED, NOT_WELL_FORMED);

export const ChoiceSchema = z.enum(["a", "b", "tie"]);

export const TextSchema = z
  .string()
  .max(MAX_TEXT_CHARS, atMost(MAX_TEXT_CHARS))
  .regex(NO_NUL, "must not contain NUL characters")
  .regex(WELL_FORMED, NOT_WELL_FORMED);

/** A short name: a message role, a flag, an attribute name. */
const Name = z
  .string()
  .min(1)
  .max(64, ABORT)
  .regex(noControl, NO_CONTROL)
  .regex(WELL_FORMED, NOT_WELL_FORMED);

export const MessageSchema = z.strictObject({
  role: Name,
  content: TextSchema,
});

export const ContentSchema: z.ZodType<Content> = z.union(
  [TextSchema, z.array(MessageSchema).min(1, "a message list must not be empty").max(1000)],
  // The union's own message: what it accepts, added to "expected string or array, received …".
  { error: "a string, or a list of {role, content} messages" },
);

/** The longest `latency_ms` a judgment may carry (ms; about 115 days). */
export const MAX_LATENCY_MS = 1e10;

/**
 * The last instant a `created_at` can name: the date-time form has four-digit years, so a time
 * past 9999 (which `toISOString` writes as `+010000-…`) could not be read back.
 */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Long enough for nanoseconds and an offset (`2026-03-01T10:00:00.123456789+14:00` is 35); the
 * format alone allows any number of fraction digits, which the ledger would store and hash.
 */
const MAX_DATE_CHARS = 64;

const IsoDate = z.iso
  .datetime({
    offset: true,
    message: "must be an ISO-8601 date-time with a time zone, such as 2026-03-01T10:00:00Z",
  })
  .max(MAX_DATE_CHARS, atMost(MAX_DATE_CHARS));

export const JudgmentSchema = z.strictObject({
  comparison_id: IdSchema,
  prompt: ContentSchema,
  response_a: ContentSchema,
  response_b: ContentSchema,
  rater_id: IdSchema,
  choice: ChoiceSchema,
  gold: ChoiceSchema.optional(),
  created_at: IsoDate.optional(),
  latency_ms: z.number().finite().nonnegative().max(MAX_LATENCY_MS).optional(),
  shown_order: z.enum(["ab", "ba"]).optional(),
  rationale: storableString(10_000).optional(),
  flags: z.array(Name).max(16).optional(),
}) satisfies z.ZodType<Judgment>;

export const RaterSchema = z.strictObject({
  rater_id: IdSchema,
  attributes: z
    .record(
      z.string().min(1).max(64, ABORT).regex(WELL_FORMED, NOT_WELL_FORMED),
      storableString(256),
    )
    .default({}),
}) satisfies z.ZodType<Rater, unknown>;

export const GoldSchema = z.strictObject({
  comparison_id: IdSchema,
  gold: ChoiceSchema,
}) satisfies z.ZodType<GoldAnswer>;

/** TRL preference row: plain strings ("standard") or message lists ("conversational"). */
export const TrlRowSchema = z.strictObject({
  prompt: ContentSchema,
  chosen: ContentSchema,
  rejected: ContentSchema,
  weight: z.number().finite().optional(),
  margin: z.number().finite().optional(),
  id: IdSchema.optional(),
  rater_id: IdSchema.optional(),
});

/** Anthropic HH-RLHF row: two full transcripts that share everything up to the last answer. */
export const HhRowSchema = z.strictObject({
  chosen: TextSchema,
  rejected: TextSchema,
});

const Cell = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_ID_CHARS, atMost(MAX_ID_CHARS))
  .regex(noControl, NO_CONTROL)
  .regex(WELL_FORMED, NOT_WELL_FORMED);

export const CategoricalLabelSchema = z.strictObject({
  task: Cell,
  worker: Cell,
  label: Cell,
}) satisfies z.ZodType<CategoricalLabel>;

export const PairwiseLabelSchema = z
  .strictObject({ worker: Cell, left: Cell, right: Cell, label: Cell })
  .refine((r) => r.label === r.left || r.label === r.right, {
    error: (issue) => {
      const r = issue.input as PairwiseLabel;
      return `must equal left or right (the preferred item): ${quote(r.left)} or ${quote(r.right)}; got ${quote(r.label)}`;
    },
    path: ["label"],
  })
  .refine((r) => r.left !== r.right, { message: "left and right must differ", path: ["right"] });

export type PairwiseLabelParsed = PairwiseLabel;

/** Validates `value` against `schema` or throws KEEL_E_INVALID_RECORD naming the place. */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, where: Where): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = zodIssueMessage(result.error, { input: value, schema });
  throw new KeelError("KEEL_E_INVALID_RECORD", message, { where: { ...where, field } });
}

export function isChoice(x: unknown): x is Choice {
  return x === "a" || x === "b" || x === "tie";
}

const JUDGMENT_KEYS = new Set(Object.keys(JudgmentSchema.shape));
/** One such character anywhere (the fast path's test of `noControl`). */
const CONTROL = new RegExp(`[${CONTROL_CHARS}]`);
const isoDate = IsoDate;

function fastId(x: unknown): boolean {
  return (
    typeof x === "string" &&
    x.length >= 1 &&
    x.length <= MAX_ID_CHARS &&
    !CONTROL.test(x) &&
    isWellFormed(x)
  );
}

function fastText(x: unknown): boolean {
  return (
    typeof x === "string" && x.length <= MAX_TEXT_CHARS && !x.includes("\u0000") && isWellFormed(x)
  );
}

/**
 * The common case of `JudgmentSchema` without zod's cost: returns the value itself when it is
 * a plain-text judgment that the schema certainly accepts, and undefined otherwise — in which
 * case the caller runs the schema, which decides and words the error. It never accepts what the
 * schema would reject (a property test holds the two together).
 */
export function acceptJudgmentFast(v: unknown): Judgment | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const k in o) if (!JUDGMENT_KEYS.has(k)) return undefined;
  if (!fastId(o.comparison_id) || !fastId(o.rater_id)) return undefined;
  if (!fastText(o.prompt) || !fastText(o.response_a) || !fastText(o.response_b)) return undefined;
  const c = o.choice;
  if (c !== "a" && c !== "b" && c !== "tie") return undefined;
  const g = o.gold;
  if (g !== undefined && g !== "a" && g !== "b" && g !== "tie") return undefined;
  const l = o.latency_ms;
  if (
    l !== undefined &&
    !(typeof l === "number" && Number.isFinite(l) && l >= 0 && l <= MAX_LATENCY_MS)
  )
    return undefined;
  if (o.created_at !== undefined && !isoDate.safeParse(o.created_at).success) return undefined;
  if (o.shown_order !== undefined || o.rationale !== undefined || o.flags !== undefined)
    return undefined;
  return o as unknown as Judgment;
}
