/**
 * The walk behind `FeedbackStore.verifyLedger`: every stored text checked against its digest,
 * then the whole chain in sequence order with verify.ts's checks, in pages, on the snapshot the
 * caller reads; the report names the earliest break.
 */
import type { Kysely } from "kysely";
import { FIRST_TEXT_PAGE, LEDGER_COLUMNS, textPageLimit } from "./read.js";
import type { Database } from "./schema.js";
import { readLedgerHead } from "./stats.js";
import {
  checkHead,
  checkRow,
  checkTextsPresent,
  GENESIS_HASH,
  type LedgerBreak,
  type StoredLedgerRow,
  type TextField,
  textEdited,
  textProblem,
  type VerifyReport,
} from "./verify.js";
import type { LedgerHead } from "./writer.js";

export interface VerifyOptions {
  /** A head hash anchored outside the database (`keel ledger head`, published earlier). */
  readonly expectHead?: string;
  /** Called after each page of judgments with the number checked so far. */
  readonly onProgress?: (rows: number) => void | Promise<void>;
  readonly pageSize?: number;
}

/** Edited texts `verifyLedger` looks for the first judgment of (the earliest names the break). */
const EDITED_TEXTS_LOOKED_UP = 100;

export async function verifyIn(db: Kysely<Database>, opts: VerifyOptions): Promise<VerifyReport> {
  const pageSize = opts.pageSize ?? 10_000;
  const recordedHead = await readLedgerHead(db);
  const { texts, edited } = await scanTexts(db, pageSize);
  const { seq, hash, hashAtRecorded, count, rowBreak, anchoredAt } = await walkChain(
    db,
    opts,
    pageSize,
    recordedHead,
  );
  const textBreak = edited.size > 0 ? await firstTextBreak(db, edited) : undefined;
  // The break in the earliest row; an edited text no judgment refers to comes after any row's.
  let firstBreak =
    textBreak === undefined ||
    (rowBreak !== undefined && (textBreak.seq === 0 || rowBreak.seq <= textBreak.seq))
      ? rowBreak
      : textBreak;
  firstBreak ??= checkHead(seq, hash, recordedHead, hashAtRecorded);
  if (!firstBreak && opts.expectHead !== undefined && anchoredAt === undefined) {
    firstBreak = {
      kind: "head-mismatch",
      seq,
      message: `the anchored head ${opts.expectHead} is not in the chain (which ends at row ${seq}, hash ${hash}): the ledger was rewritten up to the anchor, or it is another ledger`,
    };
  }
  return {
    ok: firstBreak === undefined,
    rows: count,
    texts,
    head: { seq, hash },
    recordedHead,
    ...(anchoredAt !== undefined ? { anchoredAt } : {}),
    ...(firstBreak ? { firstBreak } : {}),
  };
}

/** Every stored text, in pages by digest: how many, and the first edited ones. */
async function scanTexts(
  db: Kysely<Database>,
  pageSize: number,
): Promise<{ texts: number; edited: Map<string, string> }> {
  let texts = 0;
  const edited = new Map<string, string>(); // digest → what is wrong with it
  let afterDigest = "";
  let limit = Math.min(pageSize, FIRST_TEXT_PAGE);
  for (;;) {
    const rows = await db
      .selectFrom("texts")
      .select(["digest", "body", "is_chat"])
      .where("digest", ">", afterDigest)
      .orderBy("digest")
      .limit(limit)
      .execute();
    let chars = 0;
    for (const t of rows) {
      texts++;
      chars += t.body.length;
      if (edited.size >= EDITED_TEXTS_LOOKED_UP) continue;
      const problem = textProblem(t.digest, t.body, t.is_chat);
      if (problem !== undefined) edited.set(t.digest, problem);
    }
    if (rows.length < limit) break;
    afterDigest = rows[rows.length - 1]!.digest;
    limit = textPageLimit(rows.length, chars, pageSize);
  }
  return { texts, edited };
}

/** Where the chain walk ended, and the first broken row it met. */
interface ChainWalk {
  readonly seq: number;
  readonly hash: string;
  readonly hashAtRecorded: string | undefined;
  readonly count: number;
  readonly rowBreak: LedgerBreak | undefined;
  readonly anchoredAt: number | undefined;
}

/** The chain in sequence order, page by page, up to its end or its first broken row. */
async function walkChain(
  db: Kysely<Database>,
  opts: VerifyOptions,
  pageSize: number,
  recordedHead: LedgerHead,
): Promise<ChainWalk> {
  let seq = 0;
  let hash = GENESIS_HASH;
  let hashAtRecorded = recordedHead.seq === 0 ? GENESIS_HASH : undefined;
  let count = 0;
  let after = 0;
  let rowBreak: LedgerBreak | undefined;
  // The anchored head was the head when it was published: the chain must pass through it,
  // and may have grown since.
  let anchoredAt: number | undefined = opts.expectHead === GENESIS_HASH ? 0 : undefined;
  outer: for (;;) {
    const rows = await chainPage(db, after, pageSize);
    for (const r of rows) {
      count++;
      const stored: StoredLedgerRow = {
        ...r,
        seq: Number(r.seq),
        prompt: r.prompt_digest ?? "",
        response_a: r.a_digest ?? "",
        response_b: r.b_digest ?? "",
      };
      const res = checkRow(stored, seq + 1, hash);
      if ("break" in res) {
        rowBreak =
          res.break.kind === "edited" && r.prompt_digest === null
            ? {
                ...res.break,
                message: `row ${stored.seq}: its comparison ${JSON.stringify(r.comparison_id)} is missing from the store (deleted)`,
              }
            : res.break;
        break outer;
      }
      // The hash covers the digests; a text deleted from under them would make exports drop
      // the judgment without a word.
      rowBreak = checkTextsPresent(stored, [r.prompt_found, r.a_found, r.b_found]);
      if (rowBreak) break outer;
      seq = stored.seq;
      hash = res.hash;
      if (seq === recordedHead.seq) hashAtRecorded = hash;
      if (anchoredAt === undefined && hash === opts.expectHead) anchoredAt = seq;
    }
    await opts.onProgress?.(count);
    if (rows.length < pageSize) break;
    after = Number(rows[rows.length - 1]!.seq);
  }
  return { seq, hash, hashAtRecorded, count, rowBreak, anchoredAt };
}

/** One page of judgments after `after`, with their comparison's digests and whether each text is there. */
function chainPage(db: Kysely<Database>, after: number, pageSize: number) {
  return db
    .selectFrom("judgments as j")
    .leftJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
    .leftJoin("texts as p", "p.digest", "c.prompt_digest")
    .leftJoin("texts as ta", "ta.digest", "c.a_digest")
    .leftJoin("texts as tb", "tb.digest", "c.b_digest")
    .select([
      ...LEDGER_COLUMNS,
      "c.prompt_digest",
      "c.a_digest",
      "c.b_digest",
      "p.digest as prompt_found",
      "ta.digest as a_found",
      "tb.digest as b_found",
    ])
    .where("j.seq", ">", after)
    .orderBy("j.seq")
    .limit(pageSize)
    .execute();
}

/** The edited texts' break: at the first judgment that refers to one of them, if any does. */
async function firstTextBreak(
  db: Kysely<Database>,
  edited: ReadonlyMap<string, string>,
): Promise<LedgerBreak> {
  const digests = [...edited.keys()];
  const use = await db
    .selectFrom("judgments as j")
    .innerJoin("comparisons as c", "c.comparison_id", "j.comparison_id")
    .select(["j.seq", "j.comparison_id", "c.prompt_digest", "c.a_digest", "c.b_digest"])
    .where((eb) =>
      eb.or([
        eb("c.prompt_digest", "in", digests),
        eb("c.a_digest", "in", digests),
        eb("c.b_digest", "in", digests),
      ]),
    )
    .orderBy("j.seq")
    .limit(1)
    .executeTakeFirst();
  if (use === undefined) return textEdited(digests[0]!, edited.get(digests[0]!)!);
  const fields: [TextField, string][] = [
    ["prompt", use.prompt_digest],
    ["response_a", use.a_digest],
    ["response_b", use.b_digest],
  ];
  const [field, digest] = fields.find(([, d]) => edited.has(d))!;
  return textEdited(digest, edited.get(digest)!, {
    seq: Number(use.seq),
    comparison_id: use.comparison_id,
    field,
  });
}
