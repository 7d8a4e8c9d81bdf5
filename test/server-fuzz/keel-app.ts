/**
 * The rater/admin app (`keel serve`) set up for fuzzing: the fixture of test/server/helpers.ts
 * with a rater who holds a task, a rater half onboarded, an open invitation, a spare API token
 * and a session; the ids a route's parameters may name; the credentials a request may carry;
 * and a digest of every table, to tell whether a request changed anything.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { sql } from "kysely";
import { collectionDb, createApiToken, createUser } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import {
  call,
  type Fixture,
  json,
  login,
  makeFixture,
  nextTask,
  onboard,
  sideShowing,
} from "../server/helpers.js";
import { MARK } from "./arbitraries.js";

export interface KeelFuzz {
  readonly f: Fixture;
  /** Real ids for each path parameter name (and some that name nothing). */
  readonly good: Record<string, readonly string[]>;
  /** Request headers of each kind of caller. */
  readonly callers: Record<string, Record<string, string>>;
  /** A user no fuzzed request can name, to check the service still answers. */
  readonly probe: string;
}

async function passQuiz(f: Fixture, actor: Fixture["actors"]["rater"]): Promise<void> {
  const quiz = json<{ items: { quiz_id: string; prompt: string; left: string }[] }>(
    await call(f, actor, "GET", "/api/projects/p1/quiz"),
  );
  // The fixture's quiz items: gold "b" except every third (quiz-2, quiz-5, …), a tie.
  const answers = quiz.items.map((q) => {
    const n = Number(/(\d+)$/.exec(q.prompt)![1]);
    return { quiz_id: q.quiz_id, choice: n % 3 === 2 ? "tie" : sideShowing(q, "b") };
  });
  const r = await call(f, actor, "POST", "/api/projects/p1/quiz", { body: { answers } });
  if (!json<{ passed: boolean }>(r).passed) throw new Error(`quiz not passed: ${r.body}`);
}

export async function keelFuzz(): Promise<KeelFuzz> {
  const store = await openStore(join(tempDir(), "fuzz.db"), { create: true });
  // Judgments are appended in this thread: starting the append worker for each route's fresh
  // server cost seconds (the worker's own path is test/server/append-worker.test.ts's).
  const f = await makeFixture(store, { tasks: 6, gold: 2, quiz: 2 }, { appendWorker: false });
  const { rater, rater2, admin } = f.actors;
  await onboard(f, rater);
  await onboard(f, rater2);
  await passQuiz(f, rater);
  const task = await nextTask(f, rater);
  const inv = json<{ invitation_id: string; token: string }>(
    await call(f, admin, "POST", "/api/invitations", { body: { role: "rater", project_id: "p1" } }),
  );
  const spare = json<{ token_id: string }>(
    await call(f, rater, "POST", "/api/tokens", { body: { name: "spare" } }),
  );
  await login(f, rater);
  const db = collectionDb(store);
  const u = await createUser(db, { login: "probe", role: "admin" }, new Date());
  const { token: probe } = await createApiToken(db, u.user_id, "probe", new Date());
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const a = f.actors;
  return {
    f,
    probe,
    good: {
      projectId: ["p1", "p2", "nope"],
      userId: [rater.user_id, rater2.user_id, a.outsider.user_id, a.reviewer.user_id, "u-nope"],
      taskId: [task!.task_id, "A".repeat(22)],
      token: [inv.token, "A".repeat(43)],
      invitationId: [inv.invitation_id, "i-nope"],
      tokenId: [spare.token_id, "t-nope"],
    },
    callers: {
      none: {},
      rater: bearer(rater.token),
      rater2: bearer(rater2.token),
      outsider: bearer(a.outsider.token),
      reviewer: bearer(a.reviewer.token),
      admin: bearer(admin.token),
      owner: bearer(a.owner.token),
      unknownToken: bearer(`keel_${"x".repeat(40)}`),
      malformed: { authorization: `Bearer ${encodeURIComponent(MARK)}` },
      basic: { authorization: "Basic cmF0ZXI6cGFzcw==" },
      session: { cookie: rater.cookie!, "x-csrf-token": rater.csrf! },
      sessionNoCsrf: { cookie: rater.cookie! },
      staleCookie: { cookie: `keel_session=${encodeURIComponent(MARK)}` },
    },
  };
}

/** A digest of every row of every table of the store (SQLite). */
export async function stateDigest(f: Fixture): Promise<string> {
  const db = collectionDb(f.store);
  const tables = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' order by name`.execute(db);
  const h = createHash("sha256");
  for (const { name } of tables.rows) {
    const rows = await sql`select * from ${sql.table(name)}`.execute(db);
    h.update(name).update(JSON.stringify(rows.rows.map((r) => JSON.stringify(r)).sort()));
  }
  return h.digest("hex");
}

/** The judgments in the ledger. */
export async function ledgerLength(f: Fixture): Promise<number> {
  return (await f.store.ledgerHead()).seq;
}
