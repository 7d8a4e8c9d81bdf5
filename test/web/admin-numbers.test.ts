/**
 * What the admin page shows when a number is missing: a rater with no gold judged yet, scores
 * the server could not estimate (null, as JSON has no NaN) or that an older server leaves out,
 * and audit scores that are null. Each shows as "no gold yet" or "—" — never "0%" (which reads as
 * a failing rater), "NaN", or a page that stops rendering. An emptied settings field is not
 * sent as 0. The app is built from web/src into a temporary directory (as rater-app.ts does);
 * the admin API's answers are replaced in the browser with the figures under test.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type KeelApp } from "../../src/server/app.js";
import { hashPassword } from "../../src/server/auth/password.js";
import { collectionDb, createProject, createUser } from "../../src/store/collection/index.js";
import { type FeedbackStore, openStore } from "../../src/store/store.js";
import { launchChromium, signIn } from "../helpers/browser.js";
import { tempDir } from "../helpers/stores.js";

const CONFIG = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
const PASSWORD = "correct horse battery staple";
const CHEAP = { log2N: 10, r: 8, p: 1 };

let browser: Browser;
let keel: KeelApp;
let store: FeedbackStore;
let base: string;

beforeAll(async () => {
  const web = join(tempDir(), "web");
  await build({
    configFile: CONFIG,
    logLevel: "silent",
    build: { outDir: web, emptyOutDir: true },
  });
  store = await openStore(join(tempDir(), "admin-numbers.db"), { create: true });
  const db = collectionDb(store);
  const now = new Date();
  await createUser(
    db,
    { login: "olga", role: "owner", password_hash: await hashPassword(PASSWORD, CHEAP) },
    now,
  );
  await createProject(db, { project_id: "p", name: "Empty" }, now);
  keel = await buildApp(store, { webRoot: web, logLevel: "silent", scrypt: CHEAP });
  base = await keel.app.listen({ port: 0, host: "127.0.0.1" });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await keel?.app.close();
  await store?.close();
});

/** A rater with no gold judged and no estimate: nulls, and `agreement` left out. */
const RATER = {
  user_id: "u1",
  login: "nora",
  display_name: "Nora New",
  status: "active",
  status_reason: null,
  judgments: 2,
  skipped: 0,
  gold_seen: 0,
  gold_correct: 0,
  gold_accuracy: null,
  reliability: null,
  position_bias: null,
  median_latency_ms: null,
  flagged: 0,
  suspicion: null,
  verdict: "trusted",
  verdict_source: "audit",
  reasons: [],
  // no detector had evidence on her: "trusted" means not checked
  checked_by: [],
};

const GROUPS = {
  source: "audit",
  groups: [{ rater_ids: ["u1", "u2"], score: null, reason: "vote together" }],
  triggers: [{ pattern: "cf", score: null, support: 3 }],
  promotions: [{ pattern: "Acme", score: null, support: 2, raters: 1 }],
};

describe("the admin page's missing numbers", () => {
  it('shows "no gold yet" and "—", renders null audit scores, and sends no emptied setting', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signIn(page, base, "olga", PASSWORD);
      await page.route("**/api/projects/p/raters", (r) => r.fulfill({ json: { raters: [RATER] } }));
      await page.route("**/api/projects/p/groups", (r) => r.fulfill({ json: GROUPS }));
      const patches: string[] = [];
      page.on("request", (r) => {
        if (r.method() === "PATCH") patches.push(r.url());
      });
      await page.goto(`${base}/admin/p`);

      const row = page.locator('tr[data-rater="nora"]');
      await row.waitFor({ timeout: 10_000 });
      const cell = (col: string) => row.locator(`[data-col="${col}"]`).textContent();
      await expect(cell("gold")).resolves.toBe("no gold yet");
      await expect(cell("verdict")).resolves.toBe("trusted (audit) · unchecked");
      for (const col of ["reliability", "agreement", "position-bias", "latency", "suspicion"])
        await expect(cell(col), col).resolves.toBe("—");
      const item = (text: string) => page.locator("li", { hasText: text }).textContent();
      await expect(item("u1, u2")).resolves.toMatch(/^u1, u2 — score —: vote together$/);
      await expect(item("support 3")).resolves.toMatch(/^cf — score —, support 3$/);
      await expect(item("leaning to it")).resolves.toMatch(/^Acme — score —, in 2 comparisons/);
      // The empty project's progress: nothing to divide, nothing shown as a share.
      await expect(page.getByText("0 of 0 task comparisons complete").count()).resolves.toBe(1);

      await page.getByText("Settings", { exact: true }).click();
      await page.getByLabel("Pause raters below this gold accuracy").fill("");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.getByLabel("Quiz attempts").focus();
      await expect(page.getByTestId("settings-saved").count()).resolves.toBe(0);
      expect(patches).toEqual([]);
    } finally {
      await context.close();
    }
  });
  // The fraction inputs had step 0.01: a share set through the API as 0.555 made the browser
  // refuse the whole form ("enter a valid value"), so no other setting could be saved.
  it("saves the form when a fraction has more than two decimals", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signIn(page, base, "olga", PASSWORD);
      await page.route("**/api/projects/p", async (r) => {
        if (r.request().method() !== "GET") return r.continue();
        const answer = await r.fetch();
        const json = (await answer.json()) as { settings: Record<string, unknown> };
        json.settings = { ...json.settings, gold_rate: 0.555, pause_gold_accuracy: 0.6667 };
        return r.fulfill({ response: answer, json });
      });
      await page.goto(`${base}/admin/p`);
      await page.getByText("Settings", { exact: true }).click();
      await page.getByLabel("Name").fill("Renamed");
      await page.getByRole("button", { name: "Save settings" }).click();
      await expect(
        page.getByTestId("settings-saved").textContent({ timeout: 10_000 }),
      ).resolves.toBe("saved: name");
    } finally {
      await context.close();
    }
  });
  it("says how many quiz answers must be right, not a rounded percentage", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signIn(page, base, "olga", PASSWORD);
      const me = { status: "active", guidelines_acknowledged: true, quiz_required: true };
      await page.route("**/api/projects/p/me", (r) =>
        r.fulfill({
          json: {
            project_id: "p",
            name: "Empty",
            guidelines: "",
            me: { ...me, quiz_passed: false, quiz_attempts_left: 2 },
          },
        }),
      );
      const items = Array.from({ length: 8 }, (_, i) => ({
        quiz_id: `q${i}`,
        prompt: `Quiz ${i}`,
        left: "one",
        right: "two",
      }));
      // 87.5%: 7 of 8 passes (the server compares 7 / 8 ≥ 0.875), which "88%" would deny.
      await page.route("**/api/projects/p/quiz", (r) =>
        r.fulfill({ json: { pass_rate: 0.875, attempts_left: 2, passed: false, items } }),
      );
      await page.goto(`${base}/rate/p`);
      const intro = page.locator("form.quiz > p").first();
      await expect(intro.textContent()).resolves.toBe(
        "Judge these 8 comparisons as the guidelines say; at least 7 of 8 right passes. 2 attempts left.",
      );
    } finally {
      await context.close();
    }
  });
});
