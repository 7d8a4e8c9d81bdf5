/**
 * Two `keel serve` instances on one store (a PostgreSQL schema, or a SQLite file with a
 * connection and an append worker each: what two processes have), and a rater whose requests
 * for one task reach both at once — a judgment on one and a skip on the other, or the same
 * judgment retried on the other replica. Neither server's in-process guard sees the other's
 * request, so only the database can keep a task to one outcome: each race must record exactly
 * one, answer the other 409, lose no acknowledged judgment, and leave a ledger that verifies.
 * The same races run between two real `keel serve` processes on one SQLite file; the group
 * committer is shown to refuse a skipped task's judgment without failing the rest of its batch;
 * and on PostgreSQL each side's transaction is held open to show the other side waits for it.
 */
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Judgment } from "../../src/core/types.js";
import { type BuildOptions, buildApp } from "../../src/server/app.js";
import { type LedgerAppend, StoreAppend, WorkerAppend } from "../../src/server/tasks/append.js";
import { type CommitOutcome, GroupCommitter } from "../../src/server/tasks/commit.js";
import { LedgerAppender } from "../../src/store/append.js";
import {
  ackGuidelines,
  addItems,
  addMembers,
  collectionDb,
  createApiToken,
  createProject,
  createUser,
  recordSkip,
} from "../../src/store/collection/index.js";
import { openPostgres } from "../../src/store/postgres/dialect.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { PG_URL, schemasDroppedAfterAll, tempDir } from "../helpers/stores.js";
import { spawnKeel, stop } from "../scale/helpers.js";
import { CHEAP_SCRYPT, type Fixture, items, makeFixture, type TaskView } from "./helpers.js";

/** Raters racing at once, and waves of races (a third judgment-vs-skip each way round, a third
 * judgment-vs-judgment). */
const RATERS = 12;
const WAVES = 8;

interface Target {
  readonly name: "sqlite" | "postgres";
  /** A fresh store, and a way to open it again (the second process's connection). */
  fresh(): Promise<{
    store: FeedbackStore;
    reopen: () => Promise<FeedbackStore>;
    /** The PostgreSQL schema it lives in. */
    schema?: string;
  }>;
}

let counter = 0;

function sqliteTarget(): Target {
  let dir: string | undefined;
  return {
    name: "sqlite",
    async fresh() {
      dir ??= tempDir();
      const path = join(dir, `multi${counter++}.db`);
      return { store: await openStore(path, { create: true }), reopen: () => openStore(path) };
    },
  };
}

function postgresTarget(): Target {
  const schemas = schemasDroppedAfterAll();
  return {
    name: "postgres",
    async fresh() {
      const schema = `keel_multi_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      schemas.push(schema);
      return {
        store: await openStore(PG_URL, { schema, create: true }),
        reopen: () => openStore(PG_URL, { schema }),
        schema,
      };
    },
  };
}

/** The options `makeFixture` builds its server with, for the second server. */
const SERVER_OPTIONS: BuildOptions = {
  logLevel: "silent",
  scrypt: CHEAP_SCRYPT,
  authCacheMs: 0,
  scoresCacheMs: 0,
  auditIntervalMs: 0,
  rateLimits: {
    ip: { rate: 0, burst: 1 },
    user: { rate: 0, burst: 1 },
    login: { rate: 0, burst: 1 },
  },
};

/** Lets `turns` turns of the event loop pass, so the two requests interleave differently. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

type Kind = "judgment" | "skip";
/** One server as the rater reaches it: POST a path (with a JSON body) as the rater. */
type Post = (path: string, body: object) => Promise<{ status: number; json: unknown }>;

interface RaceResult {
  /** Receipts of the judgments answered 200. */
  readonly acked: { seq: number; hash: string }[];
  readonly rounds: { kinds: [Kind, Kind]; status: [number, number]; codes: string[] }[];
}

/** One race: the two requests for one task, and how the servers answered them. */
async function raceOne(
  servers: readonly [Post, Post],
  kinds: [Kind, Kind],
  late: number,
  wait: number,
  into: RaceResult,
): Promise<void> {
  const ids: string[] = [];
  for (const post of servers) {
    const t = await post("/api/projects/p1/tasks/next", {});
    if (t.status !== 200) throw new Error(`next: ${t.status} ${JSON.stringify(t.json)}`);
    ids.push((t.json as { task: TaskView }).task.task_id);
  }
  expect(ids[1]).toBe(ids[0]);
  const res = await Promise.all(
    kinds.map(async (k, i) => {
      if (i === late) await turns(wait);
      return k === "judgment"
        ? servers[i]!(`/api/tasks/${ids[0]}/judgment`, { choice: "left" })
        : servers[i]!(`/api/tasks/${ids[0]}/skip`, { reason: "unclear" });
    }),
  );
  for (const [i, x] of res.entries())
    if (x.status === 200 && kinds[i] === "judgment")
      into.acked.push((x.json as { receipt: { seq: number; hash: string } }).receipt);
  into.rounds.push({
    kinds,
    status: [res[0]!.status, res[1]!.status],
    codes: res
      .filter((x) => x.status !== 200)
      .map((x) => (x.json as { error: { code: string } }).error.code),
  });
}

/**
 * `waves` waves; in each, every rater (a pair of `Post`s: the two servers as that rater reaches
 * them) races on their next task, all raters at once — so judgments share group commits and
 * skips run beside them on other connections. A race is a judgment on one server and a skip on
 * the other, each way round, or the same judgment on both (a retried POST); one of the two
 * requests is held back a seeded 0–7 turns of the event loop.
 */
async function race(
  raters: readonly (readonly [Post, Post])[],
  waves: number,
  seed: string,
): Promise<RaceResult> {
  const rng = new Rng(seed);
  const out: RaceResult = { acked: [], rounds: [] };
  for (let w = 0; w < waves; w++) {
    await Promise.all(
      raters.map((servers, k) => {
        const r = w + k;
        const kinds: [Kind, Kind] =
          r % 3 === 0
            ? ["judgment", "skip"]
            : r % 3 === 1
              ? ["skip", "judgment"]
              : ["judgment", "judgment"];
        return raceOne(servers, kinds, rng.int(2), rng.int(8), out);
      }),
    );
  }
  return out;
}

/** Each race recorded one outcome and refused the other with 409 KEEL_E_DUPLICATE. */
function expectOneOutcomeEach({ rounds }: RaceResult): void {
  const ofKinds = (kinds: string) =>
    rounds.filter((x) => x.kinds.join("+") === kinds || [...x.kinds].reverse().join("+") === kinds);
  const tally = (rs: RaceResult["rounds"]) => ({
    rounds: rs.length,
    bothRecorded: rs.filter((x) => x.status[0] === 200 && x.status[1] === 200).length,
    oneRecorded: rs.filter((x) => [...x.status].sort().join() === "200,409").length,
  });
  const vsSkip = ofKinds("judgment+skip").length;
  const vsJudgment = ofKinds("judgment+judgment").length;
  expect({
    judgmentVsSkip: tally(ofKinds("judgment+skip")),
    judgmentVsJudgment: tally(ofKinds("judgment+judgment")),
  }).toEqual({
    judgmentVsSkip: { rounds: vsSkip, bothRecorded: 0, oneRecorded: vsSkip },
    judgmentVsJudgment: { rounds: vsJudgment, bothRecorded: 0, oneRecorded: vsJudgment },
  });
  expect(new Set(rounds.flatMap((x) => x.codes))).toEqual(new Set(["KEEL_E_DUPLICATE"]));
}

/** The store: one outcome per task, every acknowledged judgment in the ledger as answered. */
async function expectStore(store: FeedbackStore, r: RaceResult): Promise<void> {
  const db = collectionDb(store);
  const judged = await db
    .selectFrom("judgments")
    .select(["comparison_id", "rater_id", "seq", "hash"])
    .execute();
  const skipped = await db.selectFrom("skips").select(["comparison_id", "user_id"]).execute();
  const outcomes = new Map<string, number>();
  for (const key of [
    ...judged.map((j) => `${j.rater_id}/${j.comparison_id}`),
    ...skipped.map((x) => `${x.user_id}/${x.comparison_id}`),
  ])
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  expect(outcomes.size).toBe(r.rounds.length);
  expect([...outcomes.values()].filter((n) => n !== 1)).toEqual([]);
  expect(judged.map((j) => ({ seq: Number(j.seq), hash: j.hash }))).toEqual(
    expect.arrayContaining(r.acked),
  );
  expect(judged).toHaveLength(r.acked.length);
  // What `keel ledger verify` runs.
  const report = await store.verifyLedger();
  expect(report.ok, JSON.stringify(report.firstBreak)).toBe(true);
  expect(report.rows).toBe(r.acked.length);
}

function injector(app: FastifyInstance, token: string): Post {
  return async (url, body) => {
    const r = await app.inject({
      method: "POST",
      url,
      headers: { authorization: `Bearer ${token}` },
      payload: body,
    });
    return { status: r.statusCode, json: r.json() };
  };
}

/** `n` raters in project p1, guidelines read, each with an API token. */
async function addRaters(
  db: ReturnType<typeof collectionDb>,
  n: number,
  now: Date,
): Promise<{ user_id: string; token: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = await createUser(db, { login: `racer${i}`, role: "rater" }, now);
    await addMembers(db, "p1", [u.user_id], now);
    await ackGuidelines(db, "p1", u.user_id, now);
    out.push({ user_id: u.user_id, token: (await createApiToken(db, u.user_id, "t", now)).token });
  }
  return out;
}

function fetcher(base: string, token: string): Post {
  return async (path, body) => {
    const r = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: await r.json() };
  };
}

for (const target of [sqliteTarget(), postgresTarget()]) {
  describe(`two servers on one store (${target.name})`, () => {
    let f: Fixture | undefined;
    let other: { app: FastifyInstance; store: FeedbackStore } | undefined;
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await other?.app.close();
      await other?.store.close();
      await f?.close();
      for (const close of closers.splice(0).reverse()) await close();
      f = undefined;
      other = undefined;
    });

    it("records one outcome per task when a judgment and a skip (or two judgments) race", async () => {
      const { store, reopen } = await target.fresh();
      f = await makeFixture(
        store,
        { tasks: WAVES, gold: 0, overlap: RATERS, gold_rate: 0, lease_seconds: 3600 },
        { auditIntervalMs: 0 },
      );
      const raters = await addRaters(collectionDb(store), RATERS, new Date());
      const storeB = await reopen();
      other = { store: storeB, app: (await buildApp(storeB, SERVER_OPTIONS)).app };
      const apps = [f.app, other.app] as const;
      const result = await race(
        raters.map((r) => [injector(apps[0], r.token), injector(apps[1], r.token)] as const),
        WAVES,
        `multi-server/${target.name}`,
      );
      expectOneOutcomeEach(result);
      await expectStore(store, result);
    });

    it("refuses a skipped task's judgment within a group commit and appends the rest of it", async () => {
      const { store } = await target.fresh();
      closers.push(() => store.close());
      const db = collectionDb(store);
      const now = new Date("2026-12-06T00:00:00Z");
      await db
        .insertInto("projects")
        .values({
          project_id: "p1",
          name: "p1",
          guidelines: "",
          overlap: 3,
          gold_rate: 0,
          lease_seconds: 60,
          quiz_pass_rate: 1,
          quiz_max_attempts: 1,
          pause_gold_accuracy: 0,
          pause_min_gold: 1,
          seed: "s",
          created_at: now.toISOString(),
        })
        .execute();
      await addItems(db, "p1", items({ tasks: 4, gold: 0 }));
      const users = [];
      for (const login of ["u0", "u1"])
        users.push(await createUser(db, { login, role: "rater" }, now));
      await addMembers(
        db,
        "p1",
        users.map((u) => u.user_id),
        now,
      );
      const skip = (user: string, comparison: string) =>
        recordSkip(
          db,
          {
            project_id: "p1",
            user_id: user,
            comparison_id: comparison,
            reason: "unclear",
            note: null,
          },
          now,
        );
      expect(await skip(users[0]!.user_id, "t1")).toBe("recorded");
      expect(await skip(users[0]!.user_id, "t1")).toBe("repeated");

      // The server's appender: for a SQLite file, the worker thread (its error crosses a thread).
      const ledger: LedgerAppend =
        target.name === "sqlite"
          ? await WorkerAppend.start(store.location)
          : new StoreAppend(store);
      closers.push(() => ledger.close());
      const committer = new GroupCommitter(ledger);
      const judgment = (user: string, i: number): Judgment => ({
        comparison_id: `t${i}`,
        prompt: `Task prompt ${i}`,
        response_a: `task A ${i}`,
        response_b: `task B ${i}`,
        rater_id: user,
        choice: "a",
      });
      // Submitted in one turn: one batch, in which the skipped pair fails the transaction.
      const pairs: [string, number][] = [
        [users[0]!.user_id, 0],
        [users[0]!.user_id, 1],
        [users[1]!.user_id, 1],
        [users[0]!.user_id, 2],
      ];
      const out: CommitOutcome[] = await Promise.all(
        pairs.map(([u, i]) => committer.submit(judgment(u, i))),
      );
      expect(out.map((o) => o.status)).toEqual(["appended", "skipped", "appended", "appended"]);
      expect(await store.countJudgments()).toBe(3);
      // The other way round: a judged task's skip is refused, and nothing is written.
      expect(await skip(users[1]!.user_id, "t1")).toBe("judged");
      const skips = await db.selectFrom("skips").select("user_id").execute();
      expect(skips).toHaveLength(1);
      expect((await store.verifyLedger()).ok).toBe(true);
      await committer.drain();
    });
  });
}

describe("two keel serve processes on one SQLite file", () => {
  it("record one outcome per task when a judgment and a skip (or two judgments) race", async () => {
    const path = join(tempDir(), "two.db");
    const store = await openStore(path, { create: true });
    const db = collectionDb(store);
    const now = new Date();
    await createProject(
      db,
      { project_id: "p1", name: "p1", overlap: 4, gold_rate: 0, lease_seconds: 3600 },
      now,
    );
    const waves = 8;
    await addItems(db, "p1", items({ tasks: waves, gold: 0 }));
    const raters = await addRaters(db, 4, now);
    await store.close();

    const args = ["serve", "--db", path, "--port", "0", "--no-web", "--log-level", "warn"];
    const limits = ["--rate-ip", "0", "--rate-user", "0", "--audit-interval", "0"];
    const procs = [await spawnKeel([...args, ...limits]), await spawnKeel([...args, ...limits])];
    let result: RaceResult;
    try {
      result = await race(
        raters.map(
          (r) => [fetcher(procs[0]!.url, r.token), fetcher(procs[1]!.url, r.token)] as const,
        ),
        waves,
        "multi-process/sqlite",
      );
    } finally {
      for (const p of procs) await stop(p.child);
    }
    expectOneOutcomeEach(result);
    const after = await openStore(path);
    try {
      await expectStore(after, result);
    } finally {
      await after.close();
    }
  });
});

/**
 * The PostgreSQL locking itself, step by step, with the other side's transaction held open
 * in the middle: a skip that arrives while a ledger append (its judgment inserted, not yet
 * committed) is in flight must wait for it and then be refused; a judgment that arrives while
 * a skip is uncommitted must wait for it and then be refused. Without the skip's lock on the
 * ledger head, each request would go through at once and both outcomes would be recorded.
 */
describe("one outcome per task under a transaction in flight (postgres)", () => {
  const target = postgresTarget();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** A store with project p1 (tasks t0…t3) and a rater; an admin connection to watch locks. */
  async function setup() {
    const { store, schema } = await target.fresh();
    closers.push(() => store.close());
    const db = collectionDb(store);
    const now = new Date();
    await createProject(db, { project_id: "p1", name: "p1" }, now);
    await addItems(db, "p1", items({ tasks: 4, gold: 0 }));
    const [rater] = await addRaters(db, 1, now);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    closers.push(() => admin.end());
    const judgment = (i: number): Judgment => ({
      comparison_id: `t${i}`,
      prompt: `Task prompt ${i}`,
      response_a: `task A ${i}`,
      response_b: `task B ${i}`,
      rater_id: rater!.user_id,
      choice: "a",
    });
    const skip = (i: number) =>
      recordSkip(
        db,
        {
          project_id: "p1",
          user_id: rater!.user_id,
          comparison_id: `t${i}`,
          reason: "unclear",
          note: null,
        },
        now,
      );
    return { store, schema: schema!, admin, rater: rater!, judgment, skip };
  }

  /**
   * Waits until `p` settles or another backend waits for the transaction of backend `holder`,
   * whichever comes first (polling; no time limit but the test's).
   */
  async function settlesOrWaits(
    p: Promise<unknown>,
    admin: pg.Client,
    holder: number,
  ): Promise<"settled" | "waiting"> {
    let settled = false;
    void p.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      if (settled) return "settled";
      const r = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))",
        [holder],
      );
      if (r.rows[0]!.n > 0) return "waiting";
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it("makes a skip wait for a ledger append in flight, then refuses it", async () => {
    const { store, schema, admin, judgment, skip } = await setup();
    const dialect = await openPostgres({ url: PG_URL, schema });
    closers.push(() => dialect.close());
    let skipped: Promise<string> | undefined;
    let order: string | undefined;
    await dialect.writeTransaction(async (w) => {
      const app = new LedgerAppender(w, () => new Date());
      await app.append([{ input: judgment(0), where: {} }], false);
      await app.finish();
      // The append's backend: the one holding a row lock on this schema's judgments table.
      const holder = await admin.query<{ pid: number }>(
        "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " +
          "JOIN pg_namespace n ON n.oid = c.relnamespace " +
          "WHERE n.nspname = $1 AND c.relname = 'judgments' AND l.mode = 'RowExclusiveLock' AND l.granted",
        [schema],
      );
      expect(holder.rows).toHaveLength(1);
      skipped = skip(0);
      order = await settlesOrWaits(skipped, admin, holder.rows[0]!.pid);
    });
    expect({ order, skip: await skipped }).toEqual({ order: "waiting", skip: "judged" });
    expect(await store.countJudgments()).toBe(1);
    const skips = await collectionDb(store).selectFrom("skips").selectAll().execute();
    expect(skips).toEqual([]);
    expect((await store.verifyLedger()).ok).toBe(true);
  });

  it("makes a ledger append wait for a skip in flight, then refuses its judgment", async () => {
    const { store, schema, admin, rater, judgment } = await setup();
    // A skip's transaction held open after its insert (what recordSkip does, uncommitted).
    const skipper = new pg.Client({
      connectionString: PG_URL,
      options: `-c search_path=${schema}`,
    });
    await skipper.connect();
    closers.push(() => skipper.end());
    const pid = (await skipper.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!
      .pid;
    await skipper.query("BEGIN");
    await skipper.query(
      "INSERT INTO skips (project_id, user_id, comparison_id, reason, note, created_at) " +
        "VALUES ($1, $2, $3, $4, $5, $6)",
      ["p1", rater.user_id, "t1", "unclear", null, new Date().toISOString()],
    );
    const committer = new GroupCommitter(new StoreAppend(store));
    const judged = committer.submit(judgment(1));
    const order = await settlesOrWaits(judged, admin, pid);
    await skipper.query("COMMIT");
    expect({ order, judgment: await judged }).toEqual({
      order: "waiting",
      judgment: { status: "skipped" },
    });
    await committer.drain();
    expect(await store.countJudgments()).toBe(0);
    expect((await store.verifyLedger()).ok).toBe(true);
  });
});
