/**
 * Crash test: `kill -9` the server while raters submit. After a restart every judgment the
 * server acknowledged is in the ledger exactly once (its receipt's seq and hash are there),
 * nothing else is lost or doubled, the server goes on, and `keel ledger verify` passes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  addItems,
  addMembers,
  collectionDb,
  createApiToken,
  createProject,
  createUser,
  type NewItem,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

async function serve(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "test/server/serve-child.ts"),
      "serve",
      "--db",
      db,
      "--port",
      "0",
      "--no-web",
      "--log-level",
      "warn",
      "--rate-ip",
      "0",
      "--rate-user",
      "0",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = / on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`keel serve exited ${code}: ${out}`)));
  });
  return { child, url };
}

interface Receipt {
  seq: number;
  hash: string;
}

/** A rater submitting as fast as it can until `stop()` is true; collects acknowledged receipts. */
/** Waits until `done()` holds; fails after `ms` instead of hanging the suite. */
async function until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rater(
  url: string,
  token: string,
  acked: Receipt[],
  stop: () => boolean,
): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  let task: string | undefined;
  let failures = 0;
  while (!stop()) {
    try {
      if (!task) {
        const r = await fetch(`${url}/api/projects/p/tasks/next`, {
          method: "POST",
          headers,
          body: "{}",
        });
        const j = (await r.json()) as { task?: { task_id: string } | null };
        if (!j.task) {
          if (r.status !== 200) throw new Error(`next: ${r.status} ${JSON.stringify(j)}`);
          return;
        }
        task = j.task.task_id;
        continue;
      }
      const r = await fetch(`${url}/api/tasks/${task}/judgment`, {
        method: "POST",
        headers,
        body: '{"choice":"left","next":true}',
      });
      if (r.status !== 200) {
        task = undefined;
        continue;
      }
      const j = (await r.json()) as { receipt: Receipt; next: { task_id: string } | null };
      acked.push(j.receipt);
      task = j.next?.task_id;
      if (!task) return;
    } catch (e) {
      if (stop()) return; // the server died under us
      if (++failures > 5) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe("crash safety", () => {
  it("keeps every acknowledged judgment exactly once across kill -9", async () => {
    const db = join(tempDir(), "crash.db");
    const store = await openStore(db, { create: true });
    const c = collectionDb(store);
    const now = new Date();
    await createProject(
      c,
      { project_id: "p", name: "crash", overlap: 3, gold_rate: 0.1, pause_gold_accuracy: 0 },
      now,
    );
    const items: NewItem[] = [];
    for (let i = 0; i < 3000; i++) {
      items.push({
        comparison: {
          comparison_id: `c${i}`,
          prompt: `prompt ${i}`,
          response_a: `a ${i}`,
          response_b: `b ${i}`,
          ...(i % 10 === 0 ? { gold: "a" as const } : {}),
        },
        kind: "task",
        batch: "b",
      });
    }
    await addItems(c, "p", items);
    const tokens: string[] = [];
    for (let r = 0; r < 16; r++) {
      const u = await createUser(c, { login: `r${r}`, role: "rater" }, now);
      await addMembers(c, "p", [u.user_id], now);
      await c
        .updateTable("project_members")
        .set({ guidelines_ack_at: now.toISOString() })
        .where("user_id", "=", u.user_id)
        .execute();
      tokens.push((await createApiToken(c, u.user_id, "crash", now)).token);
    }
    await store.close();

    const first = await serve(db);
    const acked: Receipt[] = [];
    let dead = false;
    const clients = tokens.map((t) => rater(first.url, t, acked, () => dead));
    const running = Promise.all(clients);
    let finished = false;
    void running.finally(() => {
      finished = true;
    });
    await until(() => acked.length >= 400 || finished, "400 acknowledged judgments");
    expect(acked.length).toBeGreaterThanOrEqual(400);
    first.child.kill("SIGKILL");
    dead = true;
    await Promise.all(clients);
    // A process killed by a signal keeps exitCode null; signalCode tells it has exited.
    if (first.child.exitCode === null && first.child.signalCode === null) {
      await new Promise((r) => first.child.once("exit", r));
    }
    expect(first.child.signalCode).toBe("SIGKILL");

    const second = await serve(db);
    const more: Receipt[] = [];
    let enough = false;
    const again = tokens.slice(0, 4).map((t) => rater(second.url, t, more, () => enough));
    await until(() => more.length >= 40, "judgments after the restart");
    enough = true;
    await Promise.all(again);
    const exited = new Promise((r) => second.child.once("exit", r));
    second.child.kill("SIGTERM");
    await exited;

    const after = await openStore(db);
    const rows = await after.db
      .selectFrom("judgments")
      .select(["seq", "hash", "comparison_id", "rater_id"])
      .orderBy("seq")
      .execute();
    await after.close();
    const bySeq = new Map(rows.map((r) => [Number(r.seq), r.hash]));
    for (const a of [...acked, ...more]) expect(bySeq.get(a.seq)).toBe(a.hash);
    expect(new Set([...acked, ...more].map((a) => a.seq)).size).toBe(acked.length + more.length);
    const pairs = new Set(rows.map((r) => `${r.comparison_id}/${r.rater_id}`));
    expect(pairs.size).toBe(rows.length);
    // At most the judgments in flight when the server died were stored without an answer.
    expect(rows.length - acked.length - more.length).toBeLessThanOrEqual(16 + 4);
    const verify = await runCli(["ledger", "verify", "--db", db]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/ledger OK/);
  });
});
