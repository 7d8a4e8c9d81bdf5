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
        let chunk: FileRow[] = [];
        const flush = async () => {
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
          chunk = [];
        };
        const lines = createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity });
        for await (const line of lines) {
          if (line === "") continue;
          chunk.push(JSON.parse(line) as FileRow);
          if (chunk.length === CHUNK) await flush();
        }
        if (chunk.length > 0) await flush();
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
