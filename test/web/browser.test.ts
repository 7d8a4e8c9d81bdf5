/**
 * The web app in a real browser (Debian's Chromium through playwright-core; one launch for the
 * file): a rater signs in, reads the guidelines, passes the quiz, rates ten comparisons with
 * the keyboard (flagging one), sees their progress; an admin then sees that rater's scores.
 * Every prompt and response carries `<script>` and `<img onerror>` payloads, which must show as
 * text and run nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type KeelApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/auth/password.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createProject,
  createUser,
  getProject,
  listItems,
  type NewItem,
} from "../../src/store/collection/index.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { launchChromium, signIn as signInAs } from "../helpers/browser.js";
import { tempDir } from "../helpers/stores.js";

const WEB = fileURLToPath(new URL("../../web/dist", import.meta.url));
const PASSWORD = "correct horse battery staple";
const CHEAP = { log2N: 10, r: 8, p: 1 };
const SCRIPT = "<script>window.__xss = 1</script>";
const IMG = '<img src=x onerror="window.__xss = 2">';

interface Doc {
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
}

let browser: Browser;
let keel: KeelApp;
let store: FeedbackStore;
let base: string;

beforeAll(async () => {
  if (!existsSync(join(WEB, "index.html"))) {
    throw new Error(`web app not built (${WEB}); run npm run build`);
  }
  store = await openStore(join(tempDir(), "web.db"), { create: true });
  const db = collectionDb(store);
  const now = new Date();
  const hash = await hashPassword(PASSWORD, CHEAP);
  const owner = await createUser(
    db,
    { login: "olga", display_name: "Olga Owner", role: "owner", password_hash: hash },
    now,
  );
  const rater = await createUser(
    db,
    { login: "rita", display_name: "Rita Rater", role: "rater", password_hash: hash },
    now,
  );
  void owner;
  await createProject(
    db,
    {
      project_id: "p1",
      name: "Helpfulness",
      guidelines: `Prefer the more helpful answer. ${SCRIPT}`,
      overlap: 1,
      gold_rate: 0.2,
      pause_gold_accuracy: 0,
    },
    now,
  );
  const items: NewItem[] = [];
  for (let i = 0; i < 14; i++) {
    items.push({
      comparison: {
        comparison_id: `c${i}`,
        prompt: `Question ${i}: ${SCRIPT}`,
        response_a: `Answer A${i} ${IMG}`,
        response_b: `Answer B${i} <b>bold?</b> ${SCRIPT}`,
      },
      kind: "task",
      batch: "b1",
    });
  }
  for (let i = 0; i < 3; i++) {
    items.push({
      comparison: {
        comparison_id: `g${i}`,
        prompt: `Question G${i}: ${SCRIPT}`,
        response_a: `Answer GA${i} ${IMG}`,
        response_b: `Answer GB${i}`,
        gold: "a",
      },
      kind: "task",
      batch: "b1",
    });
  }
  for (let i = 0; i < 2; i++) {
    items.push({
      comparison: {
        comparison_id: `q${i}`,
        prompt: `Quiz ${i} ${IMG}`,
        response_a: `quiz wrong ${i}`,
        response_b: `quiz right ${i}`,
        gold: "b",
      },
      kind: "quiz",
      batch: "quiz",
    });
  }
  await addItems(db, "p1", items);
  await addMembers(db, "p1", [rater.user_id], now);
  keel = await buildApp(store, { webRoot: WEB, logLevel: "silent", scrypt: CHEAP });
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

describe("rater and admin in the browser", () => {
  it("onboards, rates ten comparisons with the keyboard, flags one, shows progress; payloads stay inert", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const res = await page.goto(`${base}/login`);
    expect(res?.headers()["content-security-policy"]).toMatch(/script-src 'self'/);
    await signIn(page, "rita");
    await page.getByRole("link", { name: "Start rating" }).click();
    await page.getByRole("heading", { name: "Helpfulness: guidelines" }).waitFor();
    await expect(page.locator(".guidelines").textContent()).resolves.toContain(SCRIPT);
    await page.getByRole("button", { name: "I have read the guidelines" }).click();

    await page.getByRole("heading", { name: "Onboarding quiz" }).waitFor();
    const items = page.locator("fieldset.quiz-item");
    expect(await items.count()).toBe(2);
    for (let i = 0; i < 2; i++) {
      const item = items.nth(i);
      const left = await item.locator(".response").first().textContent();
      await item.getByLabel(left?.includes("quiz right") ? "Response 1" : "Response 2").check();
    }
    await page.getByRole("button", { name: "Submit answers" }).click();
    await page.getByRole("heading", { name: "Quiz passed" }).waitFor();
    await page.getByRole("button", { name: "Start rating" }).click();

    const keys = ["1", "2", "3"];
    for (let n = 0; n < 10; n++) {
      const task = page.locator(".task");
      await task.waitFor();
      const id = await task.getAttribute("data-task");
      // Untrusted text shows as text: the payloads are visible characters, not elements.
      await expect(task.textContent()).resolves.toContain("<script>");
      expect(await task.locator("img, script, b").count()).toBe(0);
      if (n === 4) {
        await page.keyboard.press("f");
        await expect(page.getByLabel(/Flag as unsafe/).isChecked()).resolves.toBe(true);
      }
      await page.keyboard.press(keys[n % 3]!);
      await page.waitForFunction(
        ([want, old]) => {
          // Runs in the page (the test's own tsconfig has no DOM types).
          const doc = (globalThis as unknown as { document: Doc }).document;
          return (
            doc.querySelector('[data-testid="judged"]')?.textContent === want &&
            doc.querySelector(".task")?.getAttribute("data-task") !== old
          );
        },
        [String(n + 1), id] as const,
      );
    }
    await expect(page.getByTestId("judged").textContent()).resolves.toBe("10");
    const bar = page.getByRole("progressbar", { name: "Progress" });
    expect(Number(await bar.getAttribute("value"))).toBe(10);
    await page.keyboard.press("?");
    await page.getByRole("dialog").getByRole("heading", { name: "Keyboard shortcuts" }).waitFor();
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await context.close();

    let flagged = 0;
    let count = 0;
    for await (const j of store.judgments()) {
      count++;
      if (j.flags?.includes("unsafe")) flagged++;
      expect(j.shown_order === "ab" || j.shown_order === "ba").toBe(true);
    }
    expect(count).toBe(10);
    expect(flagged).toBe(1);
  });

  it("shows an admin that rater's live scores", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "olga");
    await page.getByRole("link", { name: "Admin" }).click();
    const row = page.locator('tr[data-rater="rita"]');
    await row.waitFor();
    await expect(row.locator('[data-col="judgments"]').textContent()).resolves.toBe("10");
    await expect(row.locator('[data-col="flagged"]').textContent()).resolves.toBe("1");
    await expect(row.locator('[data-col="gold"]').textContent()).resolves.toMatch(/^\d+\/\d+ \(/);
    await expect(row.locator('[data-col="reliability"]').textContent()).resolves.toMatch(
      /^(\d\.\d\d|—)$/,
    );
    await expect(row.locator('[data-col="verdict"]').textContent()).resolves.toMatch(
      /trusted|suspect/,
    );
    await page.getByRole("heading", { name: "Agreement per batch" }).waitFor();
    // At Playwright's default 1280 px the raters table fits: its actions are on screen, not
    // behind a horizontal scroll.
    const pause = row.getByRole("button", { name: "Pause" });
    const box = await pause.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x + box!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
    const overflow = await row.evaluate((tr) => {
      const el = (
        tr as unknown as { closest(s: string): { scrollWidth: number; clientWidth: number } }
      ).closest(".scroll");
      return el.scrollWidth - el.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(page.getByText(/\d+ of \d+ task comparisons complete/).count()).resolves.toBe(1);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
  });

  it("adds items from a JSONL file; a bad line or item is named and adds nothing", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "olga");
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByText(/ of 14 task comparisons complete/).waitFor();
    const input = page.getByLabel(/Add items/);
    const line = (o: object) => JSON.stringify(o);
    const upload = (name: string, text: string) =>
      input.setInputFiles({ name, mimeType: "application/json", buffer: Buffer.from(text) });
    // c0 as stored (already in the project), two new ones; a blank line; a hostile file name.
    await upload(
      `${IMG}.jsonl`,
      [
        line({
          comparison_id: "c0",
          prompt: `Question 0: ${SCRIPT}`,
          response_a: `Answer A0 ${IMG}`,
          response_b: `Answer B0 <b>bold?</b> ${SCRIPT}`,
        }),
        line({ comparison_id: "n1", prompt: "New 1", response_a: "x", response_b: "y" }),
        "",
        line({ comparison_id: "n2", prompt: "New 2", response_a: "x", response_b: "z" }),
      ].join("\n"),
    );
    await expect(page.getByTestId("items-added").textContent()).resolves.toBe(
      `${IMG}.jsonl: added 2 items (1 already in the project)`,
    );
    await page.getByText(/ of 16 task comparisons complete/).waitFor();
    await upload("bad.jsonl", `${line({ comparison_id: "n3" })}\n{oops\n`);
    await expect(page.getByRole("alert").textContent()).resolves.toBe(
      "bad.jsonl:2: not valid JSON",
    );
    await upload(
      "short.jsonl",
      `\n${line({ comparison_id: "n4", prompt: "p", response_a: "a" })}\n`,
    );
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /^short\.jsonl, lines 2–2: .*response_b/,
    );
    const ids = (await listItems(collectionDb(store), "p1")).map((i) => i.comparison_id);
    expect(ids.filter((id) => id.startsWith("n"))).toEqual(["n1", "n2"]);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
  });

  it("an owner changes a project's settings on its admin page; a bad value is refused", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "olga");
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByText("Settings", { exact: true }).click();
    const overlap = page.getByLabel("Raters per comparison");
    await expect(overlap.inputValue()).resolves.toBe("1");
    await overlap.fill("2");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByTestId("settings-saved").textContent()).resolves.toBe("saved: overlap");
    expect((await getProject(collectionDb(store), "p1"))?.overlap).toBe(2);
    await page.getByLabel("Share of gold items").fill("0.95");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/gold_rate/);
    expect((await getProject(collectionDb(store), "p1"))?.gold_rate).toBe(0.2);
    // The guidelines (with a script payload) sit in the textarea as text.
    await expect(page.getByLabel(/^Guidelines/).inputValue()).resolves.toContain(SCRIPT);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
  });

  it("an owner creates a project from the home page and lands on its admin page", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, "olga");
    await page.getByText("New project").click();
    await page.getByLabel(/^Id/).fill("web-made");
    await page.getByLabel(/^Name/).fill(`Made on the web ${SCRIPT}`);
    await page.getByLabel(/Raters per comparison/).fill("2");
    await page.getByLabel(/Guidelines/).fill("Prefer the correct answer.");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "Project web-made" }).waitFor();
    const p = await getProject(collectionDb(store), "web-made");
    expect(p).toMatchObject({
      name: `Made on the web ${SCRIPT}`,
      overlap: 2,
      gold_rate: 0.1,
      guidelines: "Prefer the correct answer.",
    });
    // The same id again is refused with the server's message, on the form.
    await page.goto(`${base}/`);
    await page.getByText("New project").click();
    await page.getByLabel(/^Id/).fill("web-made");
    await page.getByLabel(/^Name/).fill("Again");
    await page.getByRole("button", { name: "Create" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("exists");
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
  });
});
