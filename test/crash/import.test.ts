/**
 * `keel import` killed at seeded moments (SIGKILL, and once each SIGINT and SIGTERM), on SQLite
 * and on PostgreSQL in a fresh schema: the store then holds all of the import or none of it,
 * its ledger verifies, the same import run again completes it, and the rejects file is absent
 * or whole — its killed writer's temporary file removed by the next run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { PG_URL, schemasDroppedAfterAll, tempDir, verifiedLedgerRows } from "../helpers/stores.js";
import { ageTempFiles, keel, killTimes, tempFiles } from "./helpers.js";

const root = tempDir("keel-crash-import-");
const BASE = makeJudgments(20, 3).map((j) => JSON.stringify(j));
// Comparisons c0.. again would be duplicates of the base: the import's own ids start further on.
const BIG = makeJudgments(1_020, 3)
  .slice(BASE.length)
  .map((j) => JSON.stringify(j));
const INVALID = [5, 900, 2500].map((i) => ({ line: i + 1, text: `{"broken": ${i}` }));
const bigText = () => {
  const lines = [...BIG];
  for (const { line, text } of INVALID) lines.splice(line - 1, 0, text);
  return `${lines.join("\n")}\n`;
};

const ledger = verifiedLedgerRows;

type Kill = { signal: NodeJS.Signals; afterMs: number };

/** The kills each dialect gets: seeded SIGKILLs through the import, one SIGINT, one SIGTERM. */
function kills(seed: string): Kill[] {
  const [a, b] = killTimes(`${seed}-signals`, 2, 1200);
  return [
    ...killTimes(seed, 3, 1800).map((afterMs) => ({ signal: "SIGKILL" as const, afterMs })),
    { signal: "SIGINT", afterMs: a! },
    { signal: "SIGTERM", afterMs: b! },
  ];
}

describe.each([
  ["sqlite", (dir: string) => join(dir, "k.db")],
  [
    "postgres",
    (() => {
      const schemas = schemasDroppedAfterAll();
      return (dir: string) => {
        const schema = `keel_crash_${process.pid}_${dir.split("-").pop()!.replace(/\W/g, "")}`;
        schemas.push(schema);
        return `${PG_URL}?schema=${schema}`;
      };
    })(),
  ],
] as const)("keel import killed (%s)", (dialect, storeOf) => {
  it.each(kills(`import-${dialect}`).map((k, i) => [k.signal, k.afterMs, i] as const))(
    "by %s %i ms after it started: all or nothing, then the same import completes it",
    async (signal, afterMs, i) => {
      const dir = join(root, `${dialect}-${i}`);
      mkdirSync(dir);
      const db = storeOf(dir);
      const base = join(dir, "base.jsonl");
      const file = join(dir, "big.jsonl");
      const rejects = join(dir, "rejects.jsonl");
      writeFileSync(base, `${BASE.join("\n")}\n`);
      writeFileSync(file, bigText());
      expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
      expect((await runCli(["import", base, "--db", db, "-q", "--no-parallel"])).code).toBe(0);
      const args = ["import", file, "--db", db, "--skip-invalid", "--rejects", rejects, "-q"];

      const r = await keel(args, { kill: { signal, afterMs } });
      const rows = await ledger(db);
      if (r.killed && r.code !== 0) {
        expect([BASE.length, BASE.length + BIG.length]).toContain(rows);
        if (signal !== "SIGKILL" && r.signal === null) {
          expect(r.code, r.stderr).toBe(130);
          expect(rows).toBe(BASE.length);
        }
      } else {
        expect(r.code, r.stderr).toBe(0);
        expect(rows).toBe(BASE.length + BIG.length);
      }
      expect((await runCli(["ledger", "verify", "--db", db, "-q"])).code).toBe(0);
      // The rejects file is there only whole: written with the import, renamed after it.
      if (existsSync(rejects)) expect(readFileSync(rejects, "utf8").split("\n")).toHaveLength(4);
      if (signal !== "SIGKILL") expect(tempFiles(dir)).toEqual([]);

      ageTempFiles(dir);
      const again = await runCli([...args, "--no-parallel"]);
      expect(again.code, again.stderr).toBe(0);
      expect(await ledger(db)).toBe(BASE.length + BIG.length);
      const lines = readFileSync(rejects, "utf8").trimEnd().split("\n");
      expect(lines.map((l) => JSON.parse(l).line)).toEqual(INVALID.map((x) => x.line));
      expect(tempFiles(dir)).toEqual([]);
    },
  );
});
