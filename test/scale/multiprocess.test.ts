/**
 * Three `keel serve` processes on one PostgreSQL store, sharing leases, judgment counts and
 * rate limits through Redis; twelve raters whose every request goes to a process picked at
 * random, and who now and then send the same judgment to two processes at once. Afterwards:
 * every acknowledged judgment is in the ledger exactly once and nothing else is, every task
 * comparison was judged by exactly `overlap` raters (never more), each double submission was
 * accepted once, and the ledger verifies as one chain.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
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
import { PG_URL } from "../helpers/stores.js";
import { REDIS_URL, redisPrefix, spawnKeel, stop } from "./helpers.js";

const TASKS = 90;
const GOLD = 10;
const OVERLAP = 3;
const RATERS = 12;

const prefix = redisPrefix();
const schema = `keel_scale_${process.pid}_${randomBytes(3).toString("hex")}`;
afterAll(async () => {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

interface Ack {
  seq: number;
  hash: string;
  server: number;
}

async function setup(): Promise<{ url: string; tokens: string[] }> {
  const store = await openStore(PG_URL, { schema, create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createProject(
    db,
    {
      project_id: "p",
      name: "scale",
      overlap: OVERLAP,
      gold_rate: 0.1,
      lease_seconds: 120,
      pause_gold_accuracy: 0,
    },
    now,
  );
  const items: NewItem[] = [];
  for (let i = 0; i < TASKS + GOLD; i++) {
    items.push({
      comparison: {
        comparison_id: `c${i}`,
        prompt: `prompt ${i}`,
        response_a: `a ${i}`,
        response_b: `b ${i}`,
        ...(i >= TASKS ? { gold: "a" as const } : {}),
      },
      kind: "task",
      batch: "b",
    });
  }
  await addItems(db, "p", items);
  const tokens: string[] = [];
  for (let r = 0; r < RATERS; r++) {
    const u = await createUser(db, { login: `r${r}`, role: "rater" }, now);
    await addMembers(db, "p", [u.user_id], now);
    await db
      .updateTable("project_members")
      .set({ guidelines_ack_at: now.toISOString() })
      .where("user_id", "=", u.user_id)
      .execute();
    tokens.push((await createApiToken(db, u.user_id, "scale", now)).token);
  }
  await store.close();
  return {
    url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    tokens,
  };
}

/** One rater: every request to a random process; every 4th judgment sent to two at once. */
async function rater(
  urls: readonly string[],
  token: string,
  seed: string,
  acks: Ack[],
  doubles: { ok: number; refused: number; pairs: number },
): Promise<void> {
  const rng = new Rng(seed);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const post = (server: number, path: string, body: unknown) =>
    fetch(`${urls[server]}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  let task: string | undefined;
  for (let step = 0; step < 2000; step++) {
    if (!task) {
      const r = await post(rng.int(urls.length), "/api/projects/p/tasks/next", {});
      if (r.status !== 200) throw new Error(`next: ${r.status} ${await r.text()}`);
      const j = (await r.json()) as { task: { task_id: string } | null };
      if (!j.task) return;
      task = j.task.task_id;
      continue;
    }
    const first = rng.int(urls.length);
    const body = { choice: rng.float() < 0.5 ? "left" : "right", next: true };
    const double = step % 4 === 3;
    const servers = double
      ? [first, (first + 1 + rng.int(urls.length - 1)) % urls.length]
      : [first];
    const answers = await Promise.all(
      servers.map(async (s) => {
        const r = await post(s, `/api/tasks/${task}/judgment`, body);
        return { s, status: r.status, json: (await r.json()) as Record<string, unknown> };
      }),
    );
    task = undefined;
    const accepted = answers.filter((a) => a.status === 200);
    for (const a of answers) {
      if (a.status !== 200 && a.status !== 409)
        throw new Error(`judgment: ${a.status} ${JSON.stringify(a.json)}`);
    }
    if (double) {
      doubles.pairs++;
      doubles.ok += accepted.length;
      doubles.refused += answers.length - accepted.length;
    }
    for (const a of accepted) {
      const receipt = a.json.receipt as { seq: number; hash: string };
      acks.push({ seq: receipt.seq, hash: receipt.hash, server: a.s });
      const next = a.json.next as { task_id: string } | null | undefined;
      if (next) task = next.task_id;
    }
  }
  throw new Error("a rater did not finish in 2000 steps");
}

describe("several keel serve processes on PostgreSQL and Redis", () => {
  it("loses and doubles no judgment, respects the overlap, keeps one ledger chain", async () => {
    const { url, tokens } = await setup();
    const args = [
      "serve",
      "--db",
      url,
      "--redis",
      REDIS_URL,
      "--redis-prefix",
      prefix,
      "--port",
      "0",
      "--no-web",
      "--log-level",
      "warn",
      "--rate-ip",
      "0",
      "--rate-user",
      "0",
      "--audit-interval",
      "0",
    ];
    const servers = await Promise.all([spawnKeel(args), spawnKeel(args), spawnKeel(args)]);
    const urls = servers.map((s) => s.url);
    const acks: Ack[] = [];
    const doubles = { ok: 0, refused: 0, pairs: 0 };
    try {
      await Promise.all(tokens.map((t, i) => rater(urls, t, `rater-${i}`, acks, doubles)));
    } finally {
      await Promise.all(servers.map((s) => stop(s.child)));
    }

    const store = await openStore(url);
    try {
      const rows = await store.db
        .selectFrom("judgments")
        .select(["seq", "hash", "comparison_id", "rater_id"])
        .orderBy("seq")
        .execute();
      // Every acknowledged judgment is there once, and nothing unacknowledged.
      const bySeq = new Map(rows.map((r) => [Number(r.seq), r.hash]));
      for (const a of acks) expect(bySeq.get(a.seq)).toBe(a.hash);
      expect(new Set(acks.map((a) => a.seq)).size).toBe(acks.length);
      expect(rows.length).toBe(acks.length);
      expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
      // No rater judged a comparison twice; each double submission was accepted exactly once.
      expect(new Set(rows.map((r) => `${r.comparison_id}/${r.rater_id}`)).size).toBe(rows.length);
      expect(doubles.pairs).toBeGreaterThan(20);
      expect(doubles.ok).toBe(doubles.pairs);
      expect(doubles.refused).toBe(doubles.pairs);
      // Each task comparison judged by exactly `overlap` raters: never more, none left short.
      const per = new Map<string, number>();
      for (const r of rows) per.set(r.comparison_id, (per.get(r.comparison_id) ?? 0) + 1);
      for (let i = 0; i < TASKS; i++) expect(per.get(`c${i}`), `c${i}`).toBe(OVERLAP);
      // Every process acknowledged a share of the judgments.
      for (let s = 0; s < 3; s++)
        expect(acks.filter((a) => a.server === s).length).toBeGreaterThan(20);
      const report = await store.verifyLedger();
      expect(report.ok, JSON.stringify(report.firstBreak)).toBe(true);
      expect(report.rows).toBe(rows.length);
    } finally {
      await store.close();
    }
  }, 120_000);
});
