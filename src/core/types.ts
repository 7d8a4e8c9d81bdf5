/**
 * Domain types. Records that cross a boundary (files, HTTP, the store) use the snake_case field
 * names of keel's interchange formats (DESIGN.md), so that one type serves the wire and the code.
 */
import type { KeelErrorData } from "./errors.js";

/** A rater's verdict on a comparison: response A better, response B better, or a tie. */
export type Choice = "a" | "b" | "tie";
export const CHOICES: readonly Choice[] = ["a", "b", "tie"];

/** One turn of a conversation (TRL's "conversational" format, OpenAI's chat messages). */
export interface Message {
  readonly role: string;
  readonly content: string;
}

/** A prompt or response is plain text or a list of chat messages. */
export type Content = string | readonly Message[];

export type Split = "train" | "eval" | "redteam";

export interface Prompt {
  readonly id: string;
  readonly content: Content;
  readonly family?: string;
  readonly category?: string;
  readonly split?: Split;
}

export interface Response {
  readonly id: string;
  readonly prompt_id: string;
  readonly content: Content;
}

/** Two responses to one prompt, to be judged; `gold` is the known answer for gold items. */
export interface Comparison {
  readonly comparison_id: string;
  readonly prompt: Content;
  readonly response_a: Content;
  readonly response_b: Content;
  readonly gold?: Choice;
}

/** Order in which the rater saw the two responses: "ab" as stored, "ba" swapped on screen. */
export type ShownOrder = "ab" | "ba";

/**
 * One rater's judgment of one comparison: the keel judgments JSONL record (DESIGN.md). The
 * optional `shown_order`, `rationale` and `flags` are keel extensions recorded by the web app.
 */
export interface Judgment extends Comparison {
  readonly rater_id: string;
  readonly choice: Choice;
  readonly created_at?: string;
  readonly latency_ms?: number;
  readonly shown_order?: ShownOrder;
  readonly rationale?: string;
  readonly flags?: readonly string[];
}

/** A rater, with free-form attributes such as locale or cohort. */
export interface Rater {
  readonly rater_id: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The known answer of a gold comparison. */
export interface GoldAnswer {
  readonly comparison_id: string;
  readonly gold: Choice;
}

/** A judgment as the ledger holds it: numbered and chained. */
export interface LedgerEntry extends Judgment {
  readonly seq: number;
  readonly recorded_at: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** crowd-kit's categorical table row: `task,worker,label`. */
export interface CategoricalLabel {
  readonly task: string;
  readonly worker: string;
  readonly label: string;
}

/** crowd-kit's pairwise table row: `worker,left,right,label`, label = the preferred item. */
export interface PairwiseLabel {
  readonly worker: string;
  readonly left: string;
  readonly right: string;
  readonly label: string;
}

/** A preference pair in TRL's format, with optional weight and margin. */
export interface PreferencePair {
  readonly prompt: Content;
  readonly chosen: Content;
  readonly rejected: Content;
  readonly weight?: number;
  readonly margin?: number;
}

/** Renders content as one string (chat messages as `role: content` lines). */
export function contentToText(content: Content): string {
  if (typeof content === "string") return content;
  return content.map((m) => `${m.role}: ${m.content}`).join("\n");
}

/** One record read from a file: either the validated record or why its line was rejected. */
export type Parsed<T> =
  | {
      readonly ok: true;
      readonly line: number;
      readonly record: T;
      /** Fields the format allows that keel does not store (reported, not silently lost). */
      readonly ignored?: readonly string[];
    }
  | { readonly ok: false; readonly line: number; readonly error: Error; readonly raw: string };

/** A judgment that names its comparison but not the texts (they must already be stored). */
export interface JudgmentRef {
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly choice: Choice;
}

/**
 * A judgment whose prompt and responses are given by content digest (see digest.ts); the texts
 * themselves travel separately, once each, as `StoredText`s. Parallel imports use this form.
 */
export interface DigestedJudgment {
  readonly comparison_id: string;
  readonly rater_id: string;
  readonly choice: Choice;
  /** Digests of the prompt, response A and response B. */
  readonly digests: readonly [string, string, string];
  readonly gold?: Choice;
  readonly created_at?: string;
  readonly latency_ms?: number;
  readonly shown_order?: ShownOrder;
  readonly rationale?: string;
  readonly flags?: readonly string[];
}

/** A prompt or response as stored: its digest, its body (JSON for chat content), its kind. */
export interface StoredText {
  readonly digest: string;
  readonly body: string;
  /** 1 when `body` is a JSON message list, 0 for plain text. */
  readonly is_chat: number;
}

/**
 * Parsed judgments as columns (a parsing thread's batch, see io/packed.ts): each judgment's
 * fields by index, its texts by digest, the bodies of texts not sent before, and the lines
 * that failed to parse. Handing columns between threads costs a fraction of handing objects.
 */
export interface JudgmentColumns {
  readonly n: number;
  readonly line: Int32Array;
  readonly comparison_id: string[];
  readonly rater_id: string[];
  /** Index into CHOICES (0 a, 1 b, 2 tie). */
  readonly choice: Uint8Array;
  /** 0 none, else 1 + the index into CHOICES. */
  readonly gold: Uint8Array;
  /** "" when absent (never a valid ISO date). */
  readonly created_at: string[];
  /** NaN when absent. */
  readonly latency_ms: Float64Array;
  /** Three digests per judgment: prompt, A, B. */
  readonly digests: string[];
  /** JSON of {shown_order, rationale, flags} when any is present, else "". */
  readonly extras: string[];
  /** Each judgment's ledger-record prefix (core/ledger-record.ts), encoded by the parser. */
  readonly pre: string[];
  readonly texts: { digest: string[]; body: string[]; is_chat: Uint8Array };
  readonly rejected: { line: number; raw: string; error: KeelErrorData }[];
  /** How many of the batch's rows carried each field keel does not store (see `Parsed`). */
  readonly ignored?: Readonly<Record<string, number>>;
}
