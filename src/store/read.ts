/**
 * Reading the ledger back: judgments in ledger order with their comparison's texts, paged by
 * characters so that memory stays bounded however long the texts are; each comparison's texts
 * once (`readJudgmentsTextsOnce`); stored JSON parsed with errors that say the store was edited.
 * `FeedbackStore`'s read methods are thin wrappers over these.
 */
import { type Kysely, sql } from "kysely";
import { KeelError } from "../core/errors.js";
import type { Choice, Content, LedgerEntry } from "../core/types.js";
import type { Database, JudgmentsTable } from "./schema.js";

/** One collection project's items (its task items alone with `tasksOnly`), or the whole store. */
export interface ProjectScope {
  readonly project?: string;
  readonly tasksOnly?: boolean;
}

export interface LedgerPageOptions extends ProjectScope {
  readonly afterSeq?: number;
  readonly pageSize?: number;
}

/**
 * `column` is a comparison of the project's items. project_items belongs to the collection
 * schema (migration 0002), not to the ledger's Kysely type, hence the raw (parameterized) SQL.
 */
export function inProject(column: string, scope: ProjectScope) {
  const kind = scope.tasksOnly ? sql` AND kind = 'task'` : sql``;
  return sql<boolean>`${sql.ref(column)} IN (SELECT comparison_id FROM project_items WHERE project_id = ${scope.project}${kind})`;
}

/**
 * Texts are read in pages of about this many characters (from the last page's mean), the first
 * page of this many rows: texts run to a million characters each, and memory must stay bounded
 * however long they are.
 */
export const TEXT_PAGE_CHARS = 8_000_000;
export const FIRST_TEXT_PAGE = 64;

/** The next page's row count after a page of `rows` rows holding `chars` characters of text. */
export function textPageLimit(rows: number, chars: number, max: number): number {
  const mean = Math.max(1, chars / rows);
  return Math.max(1, Math.min(max, Math.floor(TEXT_PAGE_CHARS / mean)));
}

/** The judgment columns a ledger row is read with (alias `j`). */
/**
 * A comparison's three texts and whether each is a chat, from the joins `texts as p` (prompt),
 * `texts as ta` and `texts as tb` (responses a and b).
 */
export const TEXT_COLUMNS = [
  "p.body as prompt",
  "p.is_chat as prompt_chat",
  "ta.body as a",
  "ta.is_chat as a_chat",
  "tb.body as b",
  "tb.is_chat as b_chat",
] as const;

export const LEDGER_COLUMNS = [
  "j.seq",
  "j.comparison_id",
  "j.rater_id",
  "j.choice",
  "j.created_at",
  "j.latency_ms",
  "j.shown_order",
  "j.rationale",
  "j.flags",
  "j.recorded_at",
  "j.prev_hash",
  "j.hash",
] as const;

/** A judgment without its comparison's texts: `judgmentsTextsOnce` gave them with the first. */
export type EntryWithoutTexts = Omit<LedgerEntry, "prompt" | "response_a" | "response_b">;

/** A ledger row as read with LEDGER_COLUMNS and the comparison's gold. */
export type LedgerRow = Omit<JudgmentsTable, "seq"> & { seq: number | string; gold: Choice | null };

/** Judgments in ledger order with their texts (`firstOnly`: each comparison's first alone). */
export async function* readLedgerEntries(
  db: Kysely<Database>,
  firstOnly: boolean,
  opts: LedgerPageOptions,
): AsyncGenerator<LedgerEntry> {
  const pageSize = opts.pageSize ?? 5000;
  let after = opts.afterSeq ?? 0;
  // Every row brings its own copy of its three texts (a 50,000-character prompt shared by a
  // whole page of 5,000 judgments is 250 MB): pages are sized by characters, as verify's are.
  let limit = Math.min(pageSize, FIRST_TEXT_PAGE);
  for (;;) {
    let q = db
      .selectFrom("judgments as j")
      .innerJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
      .innerJoin("texts as p", "p.digest", "c.prompt_digest")
      .innerJoin("texts as ta", "ta.digest", "c.a_digest")
      .innerJoin("texts as tb", "tb.digest", "c.b_digest")
      .select([...LEDGER_COLUMNS, "c.gold", ...TEXT_COLUMNS])
      .where("j.seq", ">", after);
    if (opts.project !== undefined) q = q.where(inProject("j.comparison_id", opts));
    if (firstOnly)
      q = q.where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("judgments as k")
              .select("k.seq")
              .whereRef("k.comparison_id", "=", "j.comparison_id")
              .whereRef("k.seq", "<", "j.seq"),
          ),
        ),
      );
    const rows = await q.orderBy("j.seq").limit(limit).execute();
    let chars = 0;
    for (const r of rows) {
      chars += r.prompt.length + r.a.length + r.b.length;
      const seq = Number(r.seq);
      yield ledgerEntry(r, {
        prompt: asContent(r.prompt, r.prompt_chat, seq),
        response_a: asContent(r.a, r.a_chat, seq),
        response_b: asContent(r.b, r.b_chat, seq),
      });
    }
    if (rows.length < limit) return;
    after = Number(rows[rows.length - 1]!.seq);
    limit = textPageLimit(rows.length, chars, pageSize);
  }
}

/**
 * `FeedbackStore.judgments`, except that a comparison's texts come with its first judgment only:
 * the later ones are `EntryWithoutTexts` (the store fixes a comparison's texts by its row, so
 * they are the same). Each comparison's texts are read once, in batches of new comparisons, not
 * with every judgment: at a million judgments of 250,000 comparisons, reading three texts a
 * judgment (random pages) was most of `keel audit`'s and `keel aggregate`'s read.
 */
export async function* readJudgmentsTextsOnce(
  db: Kysely<Database>,
  opts: LedgerPageOptions = {},
): AsyncGenerator<LedgerEntry | EntryWithoutTexts> {
  const pageSize = opts.pageSize ?? 5000;
  let after = opts.afterSeq ?? 0;
  const texts = new TextsOnce(db, pageSize);
  for (;;) {
    let q = db
      .selectFrom("judgments as j")
      .innerJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
      .select([...LEDGER_COLUMNS, "c.gold"])
      .where("j.seq", ">", after);
    if (opts.project !== undefined) q = q.where(inProject("j.comparison_id", opts));
    const rows = await q.orderBy("j.seq").limit(pageSize).execute();
    for (let i = 0; i < rows.length; i++) {
      const t = await texts.take(rows, i);
      if (t === "repeat") yield ledgerEntry(rows[i]!);
      else if (t !== "missing") yield ledgerEntry(rows[i]!, t);
    }
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

type Texts = Pick<LedgerEntry, "prompt" | "response_a" | "response_b">;

export function ledgerEntry(r: LedgerRow, texts: Texts): LedgerEntry;
export function ledgerEntry(r: LedgerRow): EntryWithoutTexts;
export function ledgerEntry(r: LedgerRow, texts?: Texts): LedgerEntry | EntryWithoutTexts {
  // Key by key, in the order of a judgments JSONL record: conditional spreads cost half a
  // second per million judgments.
  const seq = Number(r.seq);
  const e: { -readonly [K in keyof LedgerEntry]?: LedgerEntry[K] } = {
    seq,
    comparison_id: r.comparison_id,
  };
  if (texts !== undefined) {
    e.prompt = texts.prompt;
    e.response_a = texts.response_a;
    e.response_b = texts.response_b;
  }
  e.rater_id = r.rater_id;
  e.choice = r.choice;
  if (r.gold !== null) e.gold = r.gold;
  if (r.created_at !== null) e.created_at = r.created_at;
  if (r.latency_ms !== null) e.latency_ms = r.latency_ms;
  if (r.shown_order !== null) e.shown_order = r.shown_order;
  if (r.rationale !== null) e.rationale = r.rationale;
  if (r.flags !== null)
    e.flags = parseStored(r.flags, `judgment row ${seq}: its flags`) as string[];
  e.recorded_at = r.recorded_at;
  e.prev_hash = r.prev_hash;
  e.hash = r.hash;
  return e as LedgerEntry | EntryWithoutTexts;
}

/** A comparison's texts as stored. */
interface StoredTexts {
  readonly prompt: string;
  readonly prompt_chat: number;
  readonly a: string;
  readonly a_chat: number;
  readonly b: string;
  readonly b_chat: number;
}

/** Comparisons per texts query: far below SQLite's and PostgreSQL's limits on bound parameters. */
const COMPARISONS_PER_QUERY = 2000;

/**
 * Hands out each comparison's texts once, with the first of its judgments read. Texts are read
 * for the next comparisons of the page that are new, as many as fit in about TEXT_PAGE_CHARS
 * (from the last batch's mean, as `ledgerEntries` sizes its pages).
 */
class TextsOnce {
  private readonly handedOut = new Set<string>();
  /** Comparisons whose texts are gone (deleted behind keel): skipped, as the join skips them. */
  private readonly missing = new Set<string>();
  private batch = new Map<string, StoredTexts>();
  private covered = new Set<string>();
  private limit: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly max: number,
  ) {
    this.limit = Math.min(max, FIRST_TEXT_PAGE);
  }

  /**
   * Row i's texts if its comparison is new, "repeat" if they were handed out already, "missing"
   * if they are not in the store.
   */
  async take(
    rows: readonly { seq: number | string; comparison_id: string }[],
    i: number,
  ): Promise<Texts | "repeat" | "missing"> {
    const id = rows[i]!.comparison_id;
    if (this.handedOut.has(id)) return "repeat";
    if (this.missing.has(id)) return "missing";
    if (!this.covered.has(id)) await this.fetch(rows, i);
    const t = this.batch.get(id);
    if (t === undefined) {
      this.missing.add(id);
      return "missing";
    }
    this.handedOut.add(id);
    const seq = Number(rows[i]!.seq);
    return {
      prompt: asContent(t.prompt, t.prompt_chat, seq),
      response_a: asContent(t.a, t.a_chat, seq),
      response_b: asContent(t.b, t.b_chat, seq),
    };
  }

  /** Reads the texts of the new comparisons from row `from` on, up to `limit` of them. */
  private async fetch(rows: readonly { comparison_id: string }[], from: number): Promise<void> {
    const covered = new Set<string>();
    for (let i = from; i < rows.length && covered.size < this.limit; i++) {
      const id = rows[i]!.comparison_id;
      if (!this.handedOut.has(id) && !this.missing.has(id)) covered.add(id);
    }
    const ids = [...covered];
    const batch = new Map<string, StoredTexts>();
    this.batch = batch; // the last batch's texts are released before this one is read
    let chars = 0;
    for (let s = 0; s < ids.length; s += COMPARISONS_PER_QUERY) {
      const found = await this.db
        .selectFrom("comparisons as c")
        .innerJoin("texts as p", "p.digest", "c.prompt_digest")
        .innerJoin("texts as ta", "ta.digest", "c.a_digest")
        .innerJoin("texts as tb", "tb.digest", "c.b_digest")
        .select(["c.comparison_id", ...TEXT_COLUMNS])
        .where("c.comparison_id", "in", ids.slice(s, s + COMPARISONS_PER_QUERY))
        .execute();
      for (const t of found) {
        batch.set(t.comparison_id, t);
        chars += t.prompt.length + t.a.length + t.b.length;
      }
    }
    this.covered = covered;
    this.limit = textPageLimit(covered.size, chars, this.max);
  }
}

function asContent(body: string, isChat: number, seq: number): Content {
  return isChat === 1
    ? (parseStored(body, `judgment row ${seq}: a chat text of its comparison`) as Content)
    : body;
}

/** JSON that keel stored; unparseable only if someone edited the database behind keel's back. */
export function parseStored(json: string, what: string, chained = true): unknown {
  try {
    return JSON.parse(json);
  } catch {
    throw new KeelError(
      chained ? "KEEL_E_LEDGER_BROKEN" : "KEEL_E_STORE",
      `${what}: not valid JSON; the store was edited outside keel`,
      {
        hint: chained
          ? "run `keel ledger verify` to find the first altered row"
          : "rater attributes are not part of the ledger: import the raters file again",
      },
    );
  }
}
