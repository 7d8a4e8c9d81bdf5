/**
 * A keel server over a fresh store, with one user of every role, raters in and out of a
 * project that has ordinary, gold and quiz items, and helpers to call it as any of them.
 * Requests go through `app.inject()` (no socket).
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { type BuildOptions, buildApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/auth/password.js";
import type { ServerContext } from "../../src/server/context.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createApiToken,
  createProject,
  createUser,
  type NewItem,
  type Role,
} from "../../src/store/collection/index.js";
import type { FeedbackStore } from "../../src/store/store.js";

export const PASSWORD = "correct horse battery staple";
export const CHEAP_SCRYPT = { log2N: 10, r: 8, p: 1 } as const;

export interface Actor {
  readonly login: string;
  readonly user_id: string;
  readonly role: Role;
  readonly token: string;
  cookie?: string;
  csrf?: string;
}

export interface Fixture {
  readonly app: FastifyInstance;
  readonly ctx: ServerContext;
  readonly store: FeedbackStore;
  readonly actors: Record<"owner" | "admin" | "reviewer" | "rater" | "rater2" | "outsider", Actor>;
  /** Moves the server's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface ProjectSpec {
  readonly tasks?: number;
  readonly gold?: number;
  readonly quiz?: number;
  readonly overlap?: number;
  readonly gold_rate?: number;
  readonly lease_seconds?: number;
  readonly pause_gold_accuracy?: number;
  readonly pause_min_gold?: number;
  readonly quiz_max_attempts?: number;
}

export function items(spec: ProjectSpec): NewItem[] {
  const out: NewItem[] = [];
  for (let i = 0; i < (spec.tasks ?? 10); i++) {
    out.push({
      comparison: {
        comparison_id: `t${i}`,
        prompt: `Task prompt ${i}`,
        response_a: `task A ${i}`,
        response_b: `task B ${i}`,
      },
      kind: "task",
      batch: i % 2 === 0 ? "even" : "odd",
    });
  }
  for (let i = 0; i < (spec.gold ?? 4); i++) {
    out.push({
      comparison: {
        comparison_id: `gold-${i}`,
        prompt: `Gold prompt ${i}`,
        response_a: `gold A ${i}`,
        response_b: `gold B ${i}`,
        gold: i % 2 === 0 ? "a" : "b",
      },
      kind: "task",
      batch: "even",
    });
  }
  for (let i = 0; i < (spec.quiz ?? 0); i++) {
    out.push({
      comparison: {
        comparison_id: `quiz-${i}`,
        prompt: `Quiz prompt ${i}`,
        response_a: `quiz A ${i}`,
        response_b: `quiz B ${i}`,
        gold: i % 3 === 2 ? "tie" : "b",
      },
      kind: "quiz",
      batch: "quiz",
    });
  }
  return out;
}

/** The side ("left" or "right") of a served task that shows response `want` ("a" or "b"). */
export function sideShowing(t: { left: unknown }, want: "a" | "b"): "left" | "right" {
  return String(t.left).includes(" A ") === (want === "a") ? "left" : "right";
}

/**
 * A careful rater's answer: the gold answer on gold items (gold-i: "a" for even i), and on
 * ordinary tasks "a" for even task numbers, "b" for odd ones — except one task in `noise` (by
 * the task number and `seed`), where it errs, as people do. `wrongOnGold` flips gold answers.
 */
export function answer(
  t: { prompt: unknown; left: unknown },
  wrongOnGold = false,
  seed = 0,
  noise = 0,
): "left" | "right" {
  const p = String(t.prompt);
  const n = Number(/(\d+)$/.exec(p)?.[1] ?? 0);
  const gold = p.startsWith("Gold");
  let wantA = n % 2 === 0;
  if (gold && wrongOnGold) wantA = !wantA;
  if (!gold && noise > 0 && (n * 7 + seed * 3) % noise === 0) wantA = !wantA;
  return sideShowing(t, wantA ? "a" : "b");
}

export async function makeFixture(
  store: FeedbackStore,
  spec: ProjectSpec = {},
  options: BuildOptions = {},
): Promise<Fixture> {
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const { app, ctx } = await buildApp(store, {
    logLevel: "silent",
    scrypt: CHEAP_SCRYPT,
    authCacheMs: 0,
    scoresCacheMs: 0,
    rateLimits: {
      ip: { rate: 0, burst: 1 },
      user: { rate: 0, burst: 1 },
      login: { rate: 0, burst: 1 },
    },
    now,
    // The audit sweep runs on wall time: a test that took longer than its interval (a loaded
    // machine) had its raters paused mid-test. Tests of the audit call pauseExcluded themselves.
    auditIntervalMs: 0,
    ...options,
  });
  const db = collectionDb(store);
  const t = now();
  const hash = await hashPassword(PASSWORD, CHEAP_SCRYPT);
  await createProject(
    db,
    {
      project_id: "p1",
      name: "Project one",
      guidelines: "Prefer the **helpful** and harmless answer.",
      overlap: spec.overlap ?? 2,
      gold_rate: spec.gold_rate ?? 0.25,
      lease_seconds: spec.lease_seconds ?? 60,
      pause_gold_accuracy: spec.pause_gold_accuracy ?? 0.5,
      pause_min_gold: spec.pause_min_gold ?? 3,
      quiz_max_attempts: spec.quiz_max_attempts ?? 2,
    },
    t,
  );
  await createProject(db, { project_id: "p2", name: "Project two" }, t);
  await addItems(db, "p1", items(spec));
  const actors = {} as Record<string, Actor>;
  const roles: [string, Role][] = [
    ["owner", "owner"],
    ["admin", "admin"],
    ["reviewer", "reviewer"],
    ["rater", "rater"],
    ["rater2", "rater"],
    ["outsider", "rater"],
  ];
  for (const [login, role] of roles) {
    const u = await createUser(db, { login, role, password_hash: hash }, t);
    const { token } = await createApiToken(db, u.user_id, "test", t);
    actors[login] = { login, user_id: u.user_id, role, token };
  }
  await addMembers(db, "p1", [actors.rater!.user_id, actors.rater2!.user_id], t);
  await addMembers(db, "p2", [actors.outsider!.user_id], t);
  return {
    app,
    ctx,
    store,
    actors: actors as Fixture["actors"],
    advance(ms) {
      offset += ms;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export interface CallOptions {
  readonly body?: unknown;
  /** Authenticate by session cookie instead of the API token (logs in first if needed). */
  readonly session?: boolean;
  readonly headers?: Record<string, string>;
}

/** Calls the API as `actor` (undefined: anonymous). */
export async function call(
  f: Fixture,
  actor: Actor | undefined,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  opts: CallOptions = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (actor && opts.session) {
    if (!actor.cookie) await login(f, actor);
    headers.cookie = actor.cookie!;
    headers["x-csrf-token"] ??= actor.csrf!;
  } else if (actor) headers.authorization = `Bearer ${actor.token}`;
  return f.app.inject({
    method,
    url,
    headers,
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
  });
}

export async function login(f: Fixture, actor: Actor): Promise<void> {
  const r = await f.app.inject({
    method: "POST",
    url: "/api/session",
    payload: { login: actor.login, password: PASSWORD },
  });
  if (r.statusCode !== 200) throw new Error(`login failed: ${r.body}`);
  actor.cookie = String(r.headers["set-cookie"]).split(";")[0];
  actor.csrf = (r.json() as { csrf_token: string }).csrf_token;
}

export function json<T = Record<string, unknown>>(r: LightMyRequestResponse): T {
  return r.json() as T;
}

/** Acknowledges the guidelines (and, with `answers`, takes the quiz) for a rater. */
export async function onboard(f: Fixture, actor: Actor): Promise<void> {
  const r = await call(f, actor, "POST", "/api/projects/p1/guidelines/ack");
  if (r.statusCode !== 200) throw new Error(r.body);
}

export interface TaskView {
  task_id: string;
  prompt: unknown;
  left: unknown;
  right: unknown;
  expires_at: string;
}

export async function nextTask(f: Fixture, actor: Actor): Promise<TaskView | null> {
  const r = await call(f, actor, "POST", "/api/projects/p1/tasks/next");
  if (r.statusCode !== 200) throw new Error(`next: ${r.statusCode} ${r.body}`);
  return json<{ task: TaskView | null }>(r).task;
}
