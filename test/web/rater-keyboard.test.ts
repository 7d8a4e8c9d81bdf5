/**
 * The rater's page for someone who rates by keyboard alone or with a screen reader, in a real
 * browser: where the focus goes after each action, dialogs that keep the keyboard, signing in
 * again where one was, a 320 px screen (400% zoom), and the contrast of what marks controls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIn } from "../helpers/browser.js";
import {
  focused,
  judged,
  LONG_NAME,
  nextTask,
  PASSWORD,
  pageWidth,
  type RaterApp,
  startRaterApp,
  status,
  taskId,
} from "./rater-app.js";

let app: RaterApp;
beforeAll(async () => {
  app = await startRaterApp();
});
afterAll(async () => {
  await app?.close();
});

describe("rating by keyboard alone", () => {
  it("the focus stays on the control used after a skip, and lands on the end message", async () => {
    await app.member("kb", ["two"]);
    const { context, page } = await app.rating("kb", "two");
    await page.getByRole("button", { name: "Skip" }).focus();
    const first = await taskId(page);
    await page.keyboard.press("Enter");
    await nextTask(page, first);
    // The skip shows "Loading…" in between, which removed the button: the new one has the focus.
    await expect.poll(() => focused(page)).toMatchObject({ tag: "BUTTON", focus: "skip" });
    await expect(status(page)).resolves.toBe("Skipped. 1 skipped.");
    await page.getByRole("button", { name: /Response 2 is better/ }).focus();
    await page.keyboard.press("Enter");
    await page.getByText("Nothing left to judge").waitFor();
    await expect.poll(() => focused(page)).toMatchObject({ focus: "end" });
    await context.close();
  });

  it("guidelines, quiz and result: each step takes the focus from the button that led to it", async () => {
    await app.member("steps", ["pq"], "rater", "Rater steps", false);
    const context = await app.browser.newContext();
    const page = await context.newPage();
    await signIn(page, app.base, "steps", PASSWORD);
    await page.goto(`${app.base}/rate/pq`);
    await page.getByRole("button", { name: "I have read the guidelines" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Onboarding quiz" }).waitFor();
    await expect.poll(() => focused(page)).toMatchObject({ tag: "MAIN" });
    const item = page.locator("fieldset.quiz-item").first();
    const left = await item.locator(".response").first().textContent();
    await item.getByLabel(left?.includes("right") ? "Response 1" : "Response 2").focus();
    await page.keyboard.press("Space");
    await page.getByRole("button", { name: "Submit answers" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Quiz passed" }).waitFor();
    await expect.poll(() => focused(page)).toMatchObject({ tag: "H1", text: "Quiz passed" });
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.locator(".task").waitFor();
    await expect.poll(() => focused(page)).toMatchObject({ tag: "MAIN" });
    await context.close();
  });

  it("the help keeps the keyboard: Tab stays in it, choice keys do nothing, Esc goes back", async () => {
    await app.member("help", ["p"]);
    const { context, page } = await app.rating("help");
    await page.getByRole("button", { name: "Help (?)" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => focused(page)).toMatchObject({ text: "Close", inDialog: true });
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      const f = await focused(page);
      // Nothing behind the dialog (header, task, choices) takes the focus.
      expect(f.inDialog || f.tag === "BODY").toBe(true);
    }
    await page.keyboard.press("1");
    await page.keyboard.press("f");
    await page.waitForTimeout(300);
    expect(await app.judgmentsOf("help")).toBe(0);
    await expect(page.getByLabel(/Flag as unsafe/).isChecked()).resolves.toBe(false);
    await page.keyboard.press("Escape");
    await expect(page.getByRole("dialog").count()).resolves.toBe(0);
    await expect.poll(() => focused(page)).toMatchObject({ text: "Help (?)" });
    await context.close();
  });

  it("signing in on a rating page (a reload after the session ended) stays on it, focus in the page", async () => {
    await app.member("back", ["p"]);
    const context = await app.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.base}/rate/p`);
    await page.getByLabel("Login").fill("back");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.keyboard.press("Enter");
    await page.locator(".task").waitFor();
    expect(new URL(page.url()).pathname).toBe("/rate/p");
    await expect.poll(() => focused(page)).toMatchObject({ tag: "MAIN" });
    // The next Tab goes into the page, not to the header.
    await page.keyboard.press("Tab");
    await expect(focused(page)).resolves.toMatchObject({ text: "Help (?)" });
    await context.close();
  });

  it("over a session that ended, the page is inert and the focus comes back to the choice", async () => {
    await app.member("gone", ["p"]);
    const { context, page } = await app.rating("gone");
    await context.clearCookies();
    await page.getByRole("button", { name: /Response 1 is better/ }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/session has ended/).waitFor();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /“Response 1 is better” was not saved: your session had ended/,
    );
    await expect.poll(() => focused(page)).toMatchObject({ tag: "INPUT", inDialog: true });
    await expect(
      page.locator("#root").evaluate((r) => (r as { inert: boolean }).inert),
    ).resolves.toBe(true);
    await page.keyboard.type("gone");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "detached" });
    await expect
      .poll(() => focused(page))
      .toMatchObject({ focus: "left", text: "1 Response 1 is better" });
    await page.keyboard.press("Enter");
    await expect.poll(() => judged(page)).toBe("1");
    await context.close();
  });
});

describe("small screens and contrast", () => {
  it("at 320 px (400% zoom) long names and untokenised texts wrap: the page never scrolls sideways", async () => {
    await app.member("narrow", ["lp"], "rater", "Dr".repeat(60));
    const context = await app.browser.newContext({ viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    await signIn(page, app.base, "narrow", PASSWORD);
    await page.getByText(LONG_NAME).waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(320);
    await page.goto(`${app.base}/rate/lp`);
    await page.locator(".task").waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(320);
    await context.close();
    // An owner's admin page: its wide tables scroll in their own boxes.
    await app.member("olga", [], "owner");
    const owner = await app.browser.newContext({ viewport: { width: 320, height: 640 } });
    const admin = await owner.newPage();
    await signIn(admin, app.base, "olga", PASSWORD);
    await admin.goto(`${app.base}/admin/lp`);
    await admin.getByRole("heading", { name: "Agreement per batch" }).waitFor();
    expect(await pageWidth(admin)).toBeLessThanOrEqual(320);
    await owner.close();
  });

  it("form fields' borders and the focus ring stand out at 3:1 (WCAG 1.4.11)", async () => {
    await app.member("contrast", ["p"]);
    const { context, page } = await app.rating("contrast");
    await page.getByRole("button", { name: /Response 1 is better/ }).focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const colours = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): unknown; activeElement: unknown };
        getComputedStyle(e: unknown): {
          borderTopColor: string;
          outlineColor: string;
          boxShadow: string;
        };
      };
      const field = g.getComputedStyle(g.document.querySelector("textarea"));
      const focus = g.getComputedStyle(g.document.activeElement);
      return {
        field: field.borderTopColor,
        rings: [focus.outlineColor, ...(focus.boxShadow.match(/rgba?\([^)]*\)/g) ?? [])],
      };
    });
    const rgb = (c: string) => (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const lum = (c: string) => {
      const [r, g, b] = rgb(c).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const ratio = (a: string, b: string) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x! + 0.05) / (y! + 0.05);
    };
    // Against the white cards and the grey page both.
    for (const bg of ["rgb(255, 255, 255)", "rgb(246, 247, 249)"]) {
      expect(ratio(colours.field, bg)).toBeGreaterThanOrEqual(3);
      expect(Math.max(...colours.rings.map((c) => ratio(c, bg)))).toBeGreaterThanOrEqual(3);
    }
    await context.close();
  });
});
