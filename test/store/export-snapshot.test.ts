/**
 * `keel export` in its own process while another connection appends: the export writes the
 * store as it was when it began, and its summary counts what it wrote. Before, the export
 * paged through the ledger outside any snapshot: judgments committed during its pages were
 * written too, beyond the count it reported ("judgments": 12000, "written": 12050).
 * The export's output is a pipe the test stops reading after the first bytes, so the export is
 * held in the middle of its pages (not by a sleep) while the other connection appends.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { openStore } from "../../src/store/store.js";
import { asBatches } from "../helpers/data.js";
import { PG_URL, schemasDroppedAfterAll, tempDir } from "../helpers/stores.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FROM_SOURCES = ["--import", "tsx", join(ROOT, "test/server/serve-child.ts")];

const schemas = schemasDroppedAfterAll();

/** Enough rows that the export's output fills the pipe long before its last page. */
const STORED = 12_000;

function judgments(prefix: string, n: number): Judgment[] {
  return Array.from({ length: n }, (_, i) => ({
    comparison_id: `${prefix}${i}`,
    prompt: `What is ${i % 97} + ${i % 13}? (${prefix})`,
    response_a: `${(i % 97) + (i % 13)}`,
    response_b: `${(i % 97) + (i % 13) + 1}`,
    rater_id: `${prefix}-rater`,
    choice: "a",
  }));
}

/**
 * Runs `keel export -o -` on `db`; once its first bytes arrive, stops reading, runs `meanwhile`,
 * then reads the rest. Returns the rows written and the summary.
 */
function exportWhile(
  db: string,
  meanwhile: () => Promise<void>,
): Promise<{
  code: number | null;
  rows: number;
  summary: Record<string, unknown>;
  stderr: string;
}> {
  const child = spawn(
    process.execPath,
    [...FROM_SOURCES, "export", "--db", db, "-f", "judgments", "-o", "-"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let rows = 0;
  let stderr = "";
  let first = true;
  let failed: unknown;
  child.stdout.on("data", (c: Buffer) => {
    for (const b of c) if (b === 10) rows++;
    if (!first) return;
    first = false;
    child.stdout.pause();
    meanwhile().then(
      () => child.stdout.resume(),
      (e: unknown) => {
        failed = e;
        child.stdout.resume();
      },
    );
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) =>
    child.once("close", (code) => {
      if (failed !== undefined) return reject(failed);
      const line = stderr.split("\n").find((l) => l.startsWith("{"));
      resolve({ code, rows, summary: line ? JSON.parse(line) : {}, stderr });
    }),
  );
}

describe("keel export while another process appends", () => {
  for (const dialect of ["sqlite", "postgres"] as const) {
    it(`writes one snapshot, and counts what it wrote (${dialect})`, async () => {
      let db: string;
      if (dialect === "sqlite") {
        db = join(tempDir("keel-export-snap-"), "s.db");
      } else {
        const schema = `keel_exsnap_${process.pid}`;
        schemas.push(schema);
        db = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}schema=${schema}`;
      }
      const store = await openStore(db, { create: true });
      try {
        await store.importJudgments(asBatches(judgments("s", STORED), 5000));
        const r = await exportWhile(db, async () => {
          await store.appendJudgments(judgments("late", 50));
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.rows).toBe(STORED);
        expect(r.summary).toMatchObject({ judgments: STORED, written: STORED });
        expect(await store.countJudgments()).toBe(STORED + 50);
      } finally {
        await store.close();
      }
    }, 20_000);
  }
});
