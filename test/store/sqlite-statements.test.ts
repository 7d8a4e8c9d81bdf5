/**
 * The SQLite connection Kysely runs on keeps its prepared statements by their text and reuses
 * them: a statement still busy in an unfinished iteration is not handed out again (better-sqlite3
 * refuses to run a busy statement), and the set stays bounded.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { STATEMENT_CACHE, translatingErrors } from "../../src/store/sqlite/connection.js";

function db() {
  const raw = new Database(":memory:");
  raw.exec("CREATE TABLE t (x INTEGER)");
  const insert = raw.prepare("INSERT INTO t (x) VALUES (?)");
  for (let i = 0; i < 10; i++) insert.run(i);
  return { raw, conn: translatingErrors(raw, ":memory:", 1000) };
}

describe("the SQLite connection's statement cache", () => {
  it("runs a query again while the same query is still being iterated", () => {
    const { conn } = db();
    const sql = "SELECT x FROM t WHERE x >= ? ORDER BY x";
    const first = conn.prepare(sql).iterate([0]) as IterableIterator<{ x: number }>;
    expect(first.next().value).toEqual({ x: 0 });
    // The cached statement is busy in `first`: this one must be another.
    expect(conn.prepare(sql).all([5])).toEqual([{ x: 5 }, { x: 6 }, { x: 7 }, { x: 8 }, { x: 9 }]);
    const second = conn.prepare(sql).iterate([8]) as IterableIterator<{ x: number }>;
    expect([...second]).toEqual([{ x: 8 }, { x: 9 }]);
    expect([...first].map((r) => r.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Once the iteration ended, the statement is free for the next query.
    expect(conn.prepare(sql).all([9])).toEqual([{ x: 9 }]);
  });

  it("reuses a statement (parameters bound afresh) and stays correct past its bound", () => {
    const { raw, conn } = db();
    let prepared = 0;
    const real = raw.prepare.bind(raw);
    (raw as unknown as { prepare: typeof raw.prepare }).prepare = ((sql: string) => {
      prepared++;
      return real(sql);
    }) as typeof raw.prepare;
    for (let i = 0; i < 5; i++)
      expect(conn.prepare("SELECT count(*) AS n FROM t WHERE x < ?").all([i])).toEqual([{ n: i }]);
    expect(prepared).toBe(1);
    for (let i = 0; i < STATEMENT_CACHE + 10; i++)
      expect(conn.prepare(`SELECT ${i} AS k`).all([])).toEqual([{ k: i }]);
    expect(prepared).toBe(1 + STATEMENT_CACHE + 10);
    // The first statement was the least recently used: evicted, so prepared again.
    conn.prepare("SELECT count(*) AS n FROM t WHERE x < ?").all([3]);
    expect(prepared).toBe(2 + STATEMENT_CACHE + 10);
  });
});
