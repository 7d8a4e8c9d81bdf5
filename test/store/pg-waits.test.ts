/**
 * Waits on PostgreSQL that had no end: a server that accepts the connection and never answers,
 * and a collection write queued behind another's advisory lock. Each now gives up with a
 * KeelError; each test lets the wait end on its own after a while, so that it ends either way.
 */
import { createServer, type Socket } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/core/errors.js";
import { addItems, collectionDb, createProject } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { PG_URL, schemasDroppedAfterAll } from "../helpers/stores.js";

const schemas = schemasDroppedAfterAll();

describe("waiting on PostgreSQL", () => {
  it("gives up on a server that accepts the connection and never answers (connect_timeout)", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const opened = openStore(`postgres://postgres@127.0.0.1:${port}/test?connect_timeout=1`, {
        schema: "keel_never",
      }).then(
        () => "opened",
        (e: KeelError) => e,
      );
      const outcome = await Promise.race([
        opened,
        new Promise((r) => setTimeout(() => r("still waiting after 8 s"), 8_000)),
      ]);
      expect(outcome).toMatchObject({ code: "KEEL_E_STORE" });
      expect((outcome as KeelError).message).toMatch(/cannot connect to PostgreSQL.*timeout/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 20_000);

  it("gives up on another addition's advisory lock after the busy timeout with KEEL_E_BUSY", async () => {
    const schema = `keel_waits_${process.pid}`;
    schemas.push(schema);
    const store = await openStore(PG_URL, { schema, create: true });
    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      const db = collectionDb(store);
      await createProject(db, { project_id: "p", name: "p" }, new Date());
      // Another `keel project add` in its transaction, holding the lock additions serialize on.
      await holder.query(`SET search_path TO ${schema}`);
      await holder.query("BEGIN");
      await holder.query(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':add_items'))",
      );
      const c = { comparison_id: "X", prompt: "p", response_a: "a", response_b: "b" };
      const add = addItems(db, "p", [{ kind: "task", batch: "b", comparison: c }]).then(
        () => "added",
        (e: KeelError) => e,
      );
      // Before, the addition waited for as long as the holder kept its transaction open.
      const release = setTimeout(() => void holder.query("ROLLBACK"), 25_000);
      const outcome = await add;
      clearTimeout(release);
      expect(outcome).toMatchObject({ code: "KEEL_E_BUSY" });
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await store.close();
    }
  }, 40_000);
});
