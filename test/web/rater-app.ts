/**
 * The rater web app for browser tests of access and connection trouble: built from web/src into
 * a temporary directory (so tests check the sources, not a stale web/dist), served by keel over
 * a fresh SQLite store with a few projects, and Debian's Chromium to look at it with.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { build } from "vite";
import { expect } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/auth/password.js";
import {
  ackGuidelines,
  addItems,
  addMembers,
  collectionDb,
  createProject,
  createUser,
  type NewItem,
  setMemberStatus,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { launchChromium, signIn } from "../helpers/browser.js";
import { tempDir } from "../helpers/stores.js";

const CONFIG = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
export const PASSWORD = "correct horse battery staple";
const CHEAP = { log2N: 10, r: 8, p: 1 };
export const LONG_NAME = `Averyverylongprojectnamewithoutspaces_${"z".repeat(60)}`;

export interface RaterApp {
  base: string;
  browser: Browser;
  /** A new user (rater unless said), a member of `projects` who has read their guidelines
   * (unless `ack` is false). */
  member(
    login: string,
    projects: string[],
    role?: "rater" | "owner",
    displayName?: string,
    ack?: boolean,
  ): Promise<void>;
  /** Signed in as `login` on the rating page of `project`, its first task shown. */
  rating(login: string, project?: string): Promise<{ context: BrowserContext; page: Page }>;
  /** How many judgments of `login` the ledger holds. */
  judgmentsOf(login: string): Promise<number>;
  /** Pauses or excludes `login` in `project` in the store, as another server process would. */
  setStatus(login: string, project: string, status: "paused" | "excluded"): Promise<void>;
  close(): Promise<void>;
}

function items(prefix: string, n: number): NewItem[] {
  return Array.from({ length: n }, (_, i) => ({
    comparison: {
      comparison_id: `${prefix}${i}`,
      prompt: `Question ${i}`,
      response_a: `Answer A${i}`,
      response_b: `Answer B${i}`,
    },
    kind: "task" as const,
    batch: "b1",
  }));
}

/**
 * Projects: `p` (30 comparisons, every rater sees all), `two` (2 comparisons), `lp` (a name,
 * a batch, a chat role and a response that are each one long word), `pq` (guidelines and a
 * one-question quiz whose answer is Response 2, shown in either order).
 */
export async function startRaterApp(): Promise<RaterApp> {
  const web = join(tempDir(), "web");
  await build({
    configFile: CONFIG,
    logLevel: "silent",
    build: { outDir: web, emptyOutDir: true },
  });
  const store = await openStore(join(tempDir(), "access.db"), { create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createProject(
    db,
    { project_id: "p", name: "Plain", guidelines: "Judge.", overlap: 100, gold_rate: 0 },
    now,
  );
  await addItems(db, "p", items("c", 30));
  await createProject(
    db,
    { project_id: "two", name: "Two", guidelines: "", overlap: 100, gold_rate: 0 },
    now,
  );
  await addItems(db, "two", items("t", 2));
  await createProject(
    db,
    { project_id: "lp", name: LONG_NAME, guidelines: "", overlap: 3, gold_rate: 0 },
    now,
  );
  await addItems(db, "lp", [
    {
      comparison: {
        comparison_id: "lp1",
        prompt: [{ role: "r".repeat(64), content: "q".repeat(900) }],
        response_a: `https://example.com/${"a".repeat(2000)}`,
        response_b: "b",
      },
      kind: "task",
      batch: `batch_${"x".repeat(60)}`,
    },
  ]);
  await createProject(
    db,
    { project_id: "pq", name: "Quizzed", guidelines: "Read me.", overlap: 5, quiz_max_attempts: 3 },
    now,
  );
  await addItems(db, "pq", [
    ...items("q", 3),
    {
      comparison: {
        comparison_id: "pq-q",
        prompt: "q",
        response_a: "wrong",
        response_b: "right",
        gold: "b",
      },
      kind: "quiz",
      batch: "quiz",
    },
  ]);
  const keel = await buildApp(store, {
    webRoot: web,
    logLevel: "silent",
    scrypt: CHEAP,
    rateLimits: { login: { rate: 1, burst: 100 } },
  });
  const base = await keel.app.listen({ port: 0, host: "127.0.0.1" });
  const browser = await launchChromium();
  const users = new Map<string, string>();
  return {
    base,
    browser,
    async member(login, projects, role = "rater", displayName = `Rater ${login}`, ack = true) {
      const at = new Date();
      const u = await createUser(
        db,
        {
          login,
          display_name: displayName,
          role,
          password_hash: await hashPassword(PASSWORD, CHEAP),
        },
        at,
      );
      users.set(login, u.user_id);
      for (const p of projects) {
        await addMembers(db, p, [u.user_id], at);
        if (ack) await ackGuidelines(db, p, u.user_id, at);
      }
    },
    async rating(login, project = "p") {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, base, login, PASSWORD);
      await page.goto(`${base}/rate/${project}`);
      await page.locator(".task").waitFor();
      return { context, page };
    },
    async setStatus(login, project, status) {
      await setMemberStatus(
        db,
        {
          project_id: project,
          user_id: users.get(login)!,
          status,
          action: status === "paused" ? "pause" : "exclude",
          actor_id: null,
          reason: "checking",
        },
        new Date(),
      );
    },
    async judgmentsOf(login) {
      const id = users.get(login);
      let n = 0;
      for await (const j of store.judgments()) if (j.rater_id === id) n++;
      return n;
    },
    async close() {
      await browser.close();
      await keel.app.close();
      await store.close();
    },
  };
}

/** The focused element: its tag, data-focus, text, and whether it is in a dialog. */
export const focused = (page: Page) =>
  page.evaluate(() => {
    const d = (globalThis as unknown as { document: { activeElement: unknown } }).document;
    const a = d.activeElement as unknown as {
      tagName: string;
      textContent: string | null;
      getAttribute(n: string): string | null;
      closest(s: string): unknown;
    } | null;
    return {
      tag: a?.tagName ?? "",
      focus: a?.getAttribute("data-focus") ?? null,
      text: (a?.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 60),
      inDialog: a?.closest('[role="dialog"]') != null,
    };
  });

export const taskId = (page: Page) => page.locator(".task").getAttribute("data-task");
/** The rating page's status line (role=status): Saving…, Saved…, Skipped… */
export const status = (page: Page) => page.getByTestId("announce").textContent();
export const judged = (page: Page) => page.getByTestId("judged").textContent();
export const pageWidth = (page: Page) =>
  page.evaluate(
    () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
        .documentElement.scrollWidth,
  );

export async function nextTask(page: Page, old: string | null): Promise<void> {
  await expect.poll(() => taskId(page)).not.toBe(old);
}
