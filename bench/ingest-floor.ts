/**
 * The SQLite insert floor for keel's own schema: the rows of the ingest benchmark's file written
 * into a fresh `keel init` store through keel's SQLite ledger writer (the same prepared
 * statements, pragmas and single bulk transaction as `keel import`), with every value — text
 * digests, comparison rows, chain hashes — computed beforehand and left out of the clock. Only
 * the writer's inserts and the commit are timed: what an import would cost if reading, parsing, validation,
 * hashing, de-duplication and the duplicate lookups were free. It says how much of keel's time
 * is the database's own work on keel's tables and indexes, which the flat `sqlite3 .import`
 * ceiling (one table, no index) does not.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import { contentDigest, sha256Hex } from "../src/core/digest.js";
import { openSqlite } from "../src/store/sqlite/dialect.js";
import type { ComparisonRow, JudgmentRow, TextRow, WriteBatch } from "../src/store/writer.js";

interface FileRow {
  comparison_id: string;
  prompt: string;
  response_a: string;
  response_b: string;
  rater_id: string;
  choice: "a" | "b" | "tie";
  created_at?: string;
  latency_ms?: number;
}

const CHUNK = 4096;

/** The file's rows, CHUNK at a time. */
async function* chunks(jsonl: string): AsyncGenerator<FileRow[]> {
  let chunk: FileRow[] = [];
  const lines = createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === "") continue;
    chunk.push(JSON.parse(line) as FileRow);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Inserts every judgment of `jsonl` into the keel store `db`; returns the seconds spent inserting. */
export async function sqliteInsertFloor(
  jsonl: string,
  db: string,
): Promise<{ judgments: number; seconds: number }> {
  const dialect = openSqlite({ path: db });
  const texts = new Set<string>();
  const comparisons = new Set<string>();
  const raters = new Set<string>();
  const recordedAt = new Date().toISOString();
  let seq = 0;
  let hash = "0".repeat(64);
  let ns = 0n;
  let fnEnd = 0n;
  try {
    await dialect.writeTransaction(
      async (w) => {
        for await (const chunk of chunks(jsonl)) {
          const batch: {
            texts: TextRow[];
            comparisons: ComparisonRow[];
            raters: { rater_id: string; first_seen: string }[];
            judgments: JudgmentRow[];
          } = { texts: [], comparisons: [], raters: [], judgments: [] };
          for (const r of chunk) {
            const d = [r.prompt, r.response_a, r.response_b].map((t) => {
              const digest = contentDigest(t);
              if (!texts.has(digest)) {
                texts.add(digest);
                batch.texts.push({ digest, body: t, is_chat: 0 });
              }
              return digest;
            });
            if (!comparisons.has(r.comparison_id)) {
              comparisons.add(r.comparison_id);
              batch.comparisons.push({
                comparison_id: r.comparison_id,
                prompt_digest: d[0]!,
                a_digest: d[1]!,
                b_digest: d[2]!,
                gold: null,
              });
            }
            if (!raters.has(r.rater_id)) {
              raters.add(r.rater_id);
              batch.raters.push({ rater_id: r.rater_id, first_seen: recordedAt });
            }
            const next = sha256Hex(`${hash}${seq + 1}`);
            batch.judgments.push({
              seq: ++seq,
              comparison_id: r.comparison_id,
              rater_id: r.rater_id,
              choice: r.choice,
              created_at: r.created_at ?? null,
              latency_ms: r.latency_ms ?? null,
              shown_order: null,
              rationale: null,
              flags: null,
              recorded_at: recordedAt,
              prev_hash: hash,
              hash: next,
            });
            hash = next;
          }
          const wb: WriteBatch = { ...batch, gold: [] };
          const t0 = process.hrtime.bigint();
          await w.write(wb);
          ns += process.hrtime.bigint() - t0;
        }
        const t0 = process.hrtime.bigint();
        await w.setHead({ seq, hash });
        ns += process.hrtime.bigint() - t0;
        fnEnd = process.hrtime.bigint();
      },
      { bulk: true },
    );
    // The commit (writing the transaction's pages to the WAL and syncing) is the writer's too.
    ns += process.hrtime.bigint() - fnEnd;
  } finally {
    await dialect.close();
  }
  return { judgments: seq, seconds: Number(ns) / 1e9 };
}

/**
 * The same floor for a schema keel does not use (yet): integer surrogate keys for texts,
 * comparisons and raters, 32-byte BLOB digests and hashes — what the lead "integer keys instead
 * of 64-character hex keys" would buy at most. Same pragmas, one transaction, values precomputed,
 * secondary indexes built after the rows (as keel's bulk import does).
 */
export async function integerKeyFloor(
  jsonl: string,
  path: string,
): Promise<{ judgments: number; seconds: number }> {
  const db = new Database(path);
  try {
    db.pragma("page_size = 8192");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("cache_size = -65536");
    db.exec(`
      CREATE TABLE texts (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, body TEXT NOT NULL,
        is_chat INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE comparisons (id INTEGER PRIMARY KEY, comparison_id TEXT NOT NULL UNIQUE,
        prompt INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL, gold TEXT);
      CREATE TABLE raters (id INTEGER PRIMARY KEY, rater_id TEXT NOT NULL UNIQUE,
        attributes TEXT NOT NULL DEFAULT '{}', first_seen TEXT NOT NULL);
      CREATE TABLE judgments (seq INTEGER PRIMARY KEY, comparison INTEGER NOT NULL,
        rater INTEGER NOT NULL, choice TEXT NOT NULL, created_at TEXT, latency_ms REAL,
        shown_order TEXT, rationale TEXT, flags TEXT, recorded_at TEXT NOT NULL,
        prev_hash BLOB NOT NULL, hash BLOB NOT NULL, UNIQUE (comparison, rater));`);
    const insText = db.prepare("INSERT INTO texts (id, digest, body) VALUES (?, ?, ?)");
    const insComparison = db.prepare(
      "INSERT INTO comparisons (id, comparison_id, prompt, a, b) VALUES (?, ?, ?, ?, ?)",
    );
    const insRater = db.prepare("INSERT INTO raters (id, rater_id, first_seen) VALUES (?, ?, ?)");
    const insJudgment = db.prepare(
      "INSERT INTO judgments (seq, comparison, rater, choice, created_at, latency_ms, recorded_at, " +
        "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const textIds = new Map<string, number>();
    const comparisonIds = new Map<string, number>();
    const raterIds = new Map<string, number>();
    const recordedAt = new Date().toISOString();
    let seq = 0;
    let hash = Buffer.alloc(32);
    let ns = 0n;
    db.exec("BEGIN IMMEDIATE");
    for await (const chunk of chunks(jsonl)) {
      const ops: (() => void)[] = [];
      for (const r of chunk) {
        const ids = [r.prompt, r.response_a, r.response_b].map((t) => {
          const digest = contentDigest(t);
          let id = textIds.get(digest);
          if (id === undefined) {
            id = textIds.size + 1;
            textIds.set(digest, id);
            const key = Buffer.from(digest, "hex");
            const tid = id;
            ops.push(() => insText.run(tid, key, t));
          }
          return id;
        });
        let cid = comparisonIds.get(r.comparison_id);
        if (cid === undefined) {
          cid = comparisonIds.size + 1;
          comparisonIds.set(r.comparison_id, cid);
          const c = cid;
          ops.push(() => insComparison.run(c, r.comparison_id, ids[0], ids[1], ids[2]));
        }
        let rid = raterIds.get(r.rater_id);
        if (rid === undefined) {
          rid = raterIds.size + 1;
          raterIds.set(r.rater_id, rid);
          const id = rid;
          ops.push(() => insRater.run(id, r.rater_id, recordedAt));
        }
        const prev = hash;
        const next = Buffer.from(sha256Hex(`${prev.toString("hex")}${seq + 1}`), "hex");
        const s = ++seq;
        const [c, rt] = [cid, rid];
        ops.push(() =>
          insJudgment.run(
            s,
            c,
            rt,
            r.choice,
            r.created_at ?? null,
            r.latency_ms ?? null,
            recordedAt,
            prev,
            next,
          ),
        );
        hash = next;
      }
      const t0 = process.hrtime.bigint();
      for (const op of ops) op();
      ns += process.hrtime.bigint() - t0;
    }
    // The secondary indexes are built at the end, as keel's bulk import defers its own.
    const t0 = process.hrtime.bigint();
    db.exec("CREATE INDEX comparisons_prompt ON comparisons (prompt)");
    db.exec("CREATE INDEX judgments_rater ON judgments (rater)");
    db.exec("COMMIT");
    ns += process.hrtime.bigint() - t0;
    return { judgments: seq, seconds: Number(ns) / 1e9 };
  } finally {
    db.close();
  }
}
