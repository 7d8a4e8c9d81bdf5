/**
 * The web app when things go wrong, in a real browser (Debian's Chromium through playwright-core):
 * held keys and double clicks while a request is pending, failing and refused requests, a
 * session that ends mid-task, control characters in the texts a rater judges, and admin pages
 * of an empty project. The app is built from web/src into a temporary directory first, so the
 * test checks the sources, not a stale web/dist.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type KeelApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/auth/password.js";
import {
  ackGuidelines,
  addItems,
  addMembers,
  type CollectionDb,
  collectionDb,
  createProject,
  createUser,
  getMember,
  type NewItem,
} from "../../src/store/collection/index.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { launchChromium, signIn as signInAs } from "../helpers/browser.js";
import { tempDir } from "../helpers/stores.js";

const CONFIG = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
const PASSWORD = "correct horse battery staple";
const CHEAP = { log2N: 10, r: 8, p: 1 };
const RLO = "\u202e";

let browser: Browser;
let keel: KeelApp;
let store: FeedbackStore;
let db: CollectionDb;
let base: string;
const users = new Map<string, string>();

async function rater(login: string, projects: string[], ack = true): Promise<void> {
  const now = new Date();
  const u = await createUser(
    db,
    {
      login,
      display_name: `Rater ${login}`,
      role: "rater",
      password_hash: await hashPassword(PASSWORD, CHEAP),
    },
    now,
  );
  users.set(login, u.user_id);
  for (const p of projects) {
    await addMembers(db, p, [u.user_id], now);
    if (ack) await ackGuidelines(db, p, u.user_id, now);
  }
}

beforeAll(async () => {
  const web = join(tempDir(), "web");
  await build({
    configFile: CONFIG,
    logLevel: "silent",
    build: { outDir: web, emptyOutDir: true },
  });
  store = await openStore(join(tempDir(), "robust.db"), { create: true });
  db = collectionDb(store);
  const now = new Date();
  await createUser(
    db,
    {
      login: "olga",
      display_name: "Olga Owner",
      role: "owner",
      password_hash: await hashPassword(PASSWORD, CHEAP),
    },
    now,
  );
  await createProject(
    db,
    { project_id: "p", name: "Plain", guidelines: "Judge.", overlap: 100, gold_rate: 0 },
    now,
  );
  const items: NewItem[] = [];
  for (let i = 0; i < 40; i++) {
    items.push({
      comparison: {
        comparison_id: `c${i}`,
        prompt: `Question ${i}`,
        response_a: i === 0 ? `I refuse.${RLO} ti od ot woh si ereH` : `Answer A${i}`,
        response_b: `Answer B${i}`,
      },
      kind: "task",
      batch: "b1",
    });
  }
  await addItems(db, "p", items);
  await createProject(
    db,
    { project_id: "pq", name: "Quizzed", guidelines: "Judge.", overlap: 5, quiz_max_attempts: 3 },
    now,
  );
  await addItems(db, "pq", [
    {
      comparison: { comparison_id: "pq-t", prompt: "t", response_a: "a", response_b: "b" },
      kind: "task",
      batch: "b1",
    },
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
  await createProject(db, { project_id: "empty", name: "Empty", guidelines: "" }, now);
  keel = await buildApp(store, {
    webRoot: web,
    logLevel: "silent",
    scrypt: CHEAP,
    // Every test signs in afresh from one address: more than the default burst of 10.
    rateLimits: { login: { rate: 1, burst: 100 } },
  });
  base = await keel.app.listen({ port: 0, host: "127.0.0.1" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await keel?.app.close();
  await store?.close();
});

function signIn(page: Page, login: string): Promise<void> {
  return signInAs(page, base, login, PASSWORD);
}

/** A signed-in rater on the rating page of project `p`, with its first task shown. */
async function rating(login: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, login);
  await page.goto(`${base}/rate/p`);
  await page.locator(".task").waitFor();
  return { context, page };
}

async function judgmentsOf(login: string): Promise<number> {
  const id = users.get(login);
  let n = 0;
  for await (const j of store.judgments()) if (j.rater_id === id) n++;
  return n;
}

const judged = (page: Page) => page.getByTestId("judged").textContent();

describe("the rater's page under pressure", () => {
  it("a held choice key judges one comparison, not every one that follows", async () => {
    await rater("hold", ["p"]);
    const { context, page } = await rating("hold");
    await page.keyboard.down("1");
    await expect.poll(() => judged(page)).toBe("1");
    // Auto-repeat: further keydown events of the same key, with `repeat` set.
    for (let i = 0; i < 15; i++) {
      await page.keyboard.down("1");
      await page.waitForTimeout(20);
    }
    await page.keyboard.up("1");
    await page.waitForTimeout(300);
    expect(await judgmentsOf("hold")).toBe(1);
    await expect(judged(page)).resolves.toBe("1");
    await context.close();
  });

  it("Enter held on a focused choice button judges one comparison", async () => {
    await rater("enter", ["p"]);
    const { context, page } = await rating("enter");
    await page.getByRole("button", { name: /Response 1 is better/ }).focus();
    await page.keyboard.down("Enter");
    for (let i = 0; i < 15; i++) {
      await page.keyboard.down("Enter");
      await page.waitForTimeout(20);
    }
    await page.keyboard.up("Enter");
    await page.waitForTimeout(300);
    expect(await judgmentsOf("enter")).toBe(1);
    await context.close();
  });

  it("the second click of a double click does not judge the comparison that replaced the first", async () => {
    await rater("dbl", ["p"]);
    const { context, page } = await rating("dbl");
    const box = (await page.getByRole("button", { name: /Response 2 is better/ }).boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => judged(page)).toBe("1");
    // The same double click's second click, after the first one's answer came back.
    await page.mouse.down({ clickCount: 2 });
    await page.mouse.up({ clickCount: 2 });
    await page.waitForTimeout(300);
    expect(await judgmentsOf("dbl")).toBe(1);
    // A new, single click still judges.
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => judged(page)).toBe("2");
    await context.close();
  });

  it("a double-clicked quiz submission is one attempt, and a new try shows the attempts left", async () => {
    await rater("quiz", ["pq"]);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "quiz");
    await page.goto(`${base}/rate/pq`);
    await page.getByRole("heading", { name: "Onboarding quiz" }).waitFor();
    await expect(page.getByText(/3 attempts left/).count()).resolves.toBe(1);
    const item = page.locator("fieldset.quiz-item").first();
    const left = await item.locator(".response").first().textContent();
    await item.getByLabel(left?.includes("wrong") ? "Response 1" : "Response 2").check();
    await page.getByRole("button", { name: "Submit answers" }).dblclick();
    await page.getByRole("heading", { name: "Quiz not passed" }).waitFor();
    await page.waitForTimeout(300);
    expect((await getMember(db, "pq", users.get("quiz")!))?.quiz_attempts).toBe(1);
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("heading", { name: "Onboarding quiz" }).waitFor();
    await page.getByText(/2 attempts left/).waitFor();
    await context.close();
  });
});

describe("failures the rater can see and recover from", () => {
  it("a skip that fails says so and can be retried; a judgment that fails keeps its rationale", async () => {
    await rater("fail", ["p"]);
    const { context, page } = await rating("fail");
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const first = await page.locator(".task").getAttribute("data-task");
    await page.route("**/skip", (r) => r.abort());
    await page.getByRole("button", { name: "Skip" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/cannot be reached/);
    await page.unroute("**/skip");
    await page.route("**/skip", (r) =>
      r.fulfill({ status: 502, contentType: "text/html", body: "<h1>Bad gateway</h1>" }),
    );
    await page.getByRole("button", { name: "Skip" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/answered 502/);
    await page.unroute("**/skip");
    await expect(page.locator(".task").getAttribute("data-task")).resolves.toBe(first);
    await page.getByRole("button", { name: "Skip" }).click();
    await page.waitForFunction(
      (old) =>
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { getAttribute(n: string): string } | null };
          }
        ).document
          .querySelector(".task")
          ?.getAttribute("data-task") !== old,
      first,
    );
    await expect(page.getByRole("alert").count()).resolves.toBe(0);

    await page.getByLabel(/Why\?/).fill("the second one is right");
    await page.route("**/judgment", (r) => r.abort());
    await page.getByRole("button", { name: /Response 1 is better/ }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/cannot be reached/);
    await page.unroute("**/judgment");
    await expect(page.getByLabel(/Why\?/).inputValue()).resolves.toBe("the second one is right");
    await page.getByRole("button", { name: /Response 1 is better/ }).click();
    await expect.poll(() => judged(page)).toBe("1");
    const mine = [];
    for await (const j of store.judgments()) if (j.rater_id === users.get("fail")) mine.push(j);
    expect(mine.map((j) => j.rationale)).toEqual(["the second one is right"]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a session that ends mid-task asks for the password over the page and loses nothing", async () => {
    await rater("expiry", ["p"]);
    const { context, page } = await rating("expiry");
    const task = await page.locator(".task").getAttribute("data-task");
    await page.keyboard.press("f");
    await page.getByLabel(/Why\?/).fill("kept across the sign-in");
    await context.clearCookies();
    await page.getByRole("button", { name: /Response 2 is better/ }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/session has ended/).waitFor();
    await dialog.getByLabel("Login").fill("expiry");
    await dialog.getByLabel("Password").fill(PASSWORD);
    await dialog.getByRole("button", { name: "Sign in" }).click();
    await dialog.waitFor({ state: "detached" });
    // The same task, its flag and its rationale are still on the page.
    await expect(page.locator(".task").getAttribute("data-task")).resolves.toBe(task);
    await expect(page.getByLabel(/Flag as unsafe/).isChecked()).resolves.toBe(true);
    await expect(page.getByLabel(/Why\?/).inputValue()).resolves.toBe("kept across the sign-in");
    await page.getByRole("button", { name: /Response 2 is better/ }).click();
    await expect.poll(() => judged(page)).toBe("1");
    const mine = [];
    for await (const j of store.judgments()) if (j.rater_id === users.get("expiry")) mine.push(j);
    expect(mine.map((j) => [j.rationale, j.flags])).toEqual([
      ["kept across the sign-in", ["unsafe"]],
    ]);
    await context.close();
  });

  it("signing out and in again in another tab does not leave this tab's requests refused", async () => {
    await rater("tabs", ["p"]);
    const { context, page } = await rating("tabs");
    // A second tab of the same browser (one cookie jar): sign out, sign in again.
    const other = await context.newPage();
    await other.goto(`${base}/`);
    await other.getByRole("button", { name: "Sign out" }).click();
    await other.getByLabel("Login").fill("tabs");
    await other.getByLabel("Password").fill(PASSWORD);
    await other.getByRole("button", { name: "Sign in" }).click();
    await other.getByRole("heading", { name: "Projects" }).waitFor();
    // The first tab still holds the old session's CSRF token; its next judgment must go through.
    await page.getByRole("button", { name: /Response 1 is better/ }).click();
    await expect.poll(() => judged(page)).toBe("1");
    expect(await judgmentsOf("tabs")).toBe(1);
    await context.close();
  });

  it("a server that fails as the app starts is named, with a way to try again", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.route("**/api/me", (r) =>
      r.fulfill({ status: 503, contentType: "text/plain", body: "Service Unavailable" }),
    );
    await page.goto(`${base}/`);
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/answered 503/);
    await page.unroute("**/api/me");
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // Signed in, the list of projects fails: said, not "Loading…" for ever.
    await page.route("**/api/projects", (r) => r.abort());
    await page.getByLabel("Login").fill("olga");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/cannot be reached/);
    await context.close();
  });
});

describe("texts shown to raters", () => {
  it("shows a bidi override as a visible mark, and the text in the order the model wrote it", async () => {
    await rater("bidi", ["p"]);
    const { context, page } = await rating("bidi");
    const mark = page.locator(".task .ctl");
    await expect(mark.textContent()).resolves.toBe("U+202E");
    const shown = (await page.locator(".task").textContent()) ?? "";
    expect(shown).not.toContain(RLO);
    expect(shown).toContain("I refuse.U+202E ti od ot woh si ereH");
    await context.close();
  });
});

describe("very long texts", () => {
  it("scroll in their own boxes: both responses and the choices stay within reach", async () => {
    const now = new Date();
    await createProject(
      db,
      { project_id: "long", name: "Long", guidelines: "", overlap: 3, gold_rate: 0 },
      now,
    );
    await addItems(db, "long", [
      {
        comparison: {
          comparison_id: "long-1",
          prompt: [
            { role: "user", content: "x".repeat(5000) },
            { role: "assistant", content: "y ".repeat(50_000) },
          ],
          response_a: `${"https://example.com/".padEnd(100_000, "a")}\n${"word ".repeat(40_000)}`,
          response_b: "short",
        },
        kind: "task",
        batch: "b",
      },
    ]);
    await rater("long", ["long"]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    await signIn(page, "long");
    await page.goto(`${base}/rate/long`);
    await page.locator(".task").waitFor();
    const size = await page.evaluate(() => {
      const d = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; scrollHeight: number } };
        }
      ).document.documentElement;
      return { width: d.scrollWidth, height: d.scrollHeight };
    });
    expect(size.width).toBeLessThanOrEqual(1280);
    // Header, prompt (at most 40% of the height), responses (at most 70%), choices, extras.
    expect(size.height).toBeLessThan(3 * 720);
    const choice = await page.getByRole("button", { name: /Response 1 is better/ }).boundingBox();
    expect(choice!.y).toBeLessThan(2 * 720);
    await page.keyboard.press("1");
    await page.getByText("Nothing left to judge").waitFor();
    await context.close();
  });
});

describe("admin pages", () => {
  it("an empty project says it is empty; an unknown one shows one error and no tables", async () => {
    await createUser(
      db,
      {
        login: "rev",
        display_name: "Reviewer",
        role: "reviewer",
        password_hash: await hashPassword(PASSWORD, CHEAP),
      },
      new Date(),
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "olga");
    await page.goto(`${base}/admin/empty`);
    await page.getByText("No raters in this project yet").waitFor();
    await page.getByText("No items yet.").waitFor();
    await page.getByText(/No audit yet/).waitFor();
    await page.goto(`${base}/admin/nope`);
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/nope/);
    await expect(page.getByRole("alert").count()).resolves.toBe(1);
    await expect(page.getByRole("heading", { name: "Raters", exact: true }).count()).resolves.toBe(
      0,
    );
    await context.close();

    // A reviewer is not offered what only admins may do.
    const rc = await browser.newContext();
    const rp = await rc.newPage();
    await signIn(rp, "rev");
    await rp.goto(`${base}/admin/p`);
    await rp.getByRole("heading", { name: "Raters", exact: true }).waitFor();
    await expect(rp.getByRole("button", { name: "Invite a rater" }).count()).resolves.toBe(0);
    await expect(rp.getByLabel(/Add items/).count()).resolves.toBe(0);
    await rc.close();
  });
});
