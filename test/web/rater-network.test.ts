/**
 * The rater's page on a slow or flaky connection, in a real browser with the network slowed or
 * failed by route interception: what the status line says before and after the server
 * answered, presses while a judgment is on its way, refusals that say how long to wait, an
 * answer lost on the way back, a rater paused mid-task, and a sign-in sent twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  judged,
  nextTask,
  PASSWORD,
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

describe("a slow or failing connection", () => {
  it("says Saving until the server answers, then Saved; presses meanwhile send nothing", async () => {
    await app.member("slow", ["p"]);
    const { context, page } = await app.rating("slow");
    await page.keyboard.press("1");
    await expect.poll(() => judged(page)).toBe("1");
    let sent = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route("**/judgment", async (r) => {
      sent++;
      await held;
      await r.continue();
    });
    const first = await taskId(page);
    await page.keyboard.press("2");
    await expect.poll(() => status(page)).toBe("Saving: Response 2 is better…");
    // The first judgment's "Saved" is not left standing while the second is on its way.
    await expect(status(page)).resolves.not.toMatch(/Saved/);
    await expect(
      page.getByRole("button", { name: /Response 2 is better/ }).getAttribute("aria-disabled"),
    ).resolves.toBe("true");
    await page.keyboard.press("2");
    await page.keyboard.press("3");
    // aria-disabled, which Playwright honours: force the click as a hurried hand would.
    await page.getByRole("button", { name: /Tie/ }).click({ force: true });
    await page.waitForTimeout(200);
    expect(await taskId(page)).toBe(first);
    release();
    await nextTask(page, first);
    await expect(status(page)).resolves.toBe("Saved: Response 2 is better. 2 judged.");
    expect(sent).toBe(1);
    expect(await app.judgmentsOf("slow")).toBe(2);

    // A refusal after that: the status no longer says Saved, the alert names the choice.
    await page.unroute("**/judgment");
    await page.route("**/judgment", (r) =>
      r.fulfill({
        status: 500,
        contentType: "application/json",
        body: '{"error":{"code":"KEEL_E_INTERNAL","message":"internal error"}}',
      }),
    );
    await page.keyboard.press("3");
    await expect(page.getByRole("alert").textContent()).resolves.toBe(
      "“Tie” was not saved: internal error",
    );
    await expect(status(page)).resolves.not.toMatch(/Sav/);
    await context.close();
  });

  it("a 429 says how long to wait and keeps the flag and rationale for the retry", async () => {
    await app.member("busy", ["p"]);
    const { context, page } = await app.rating("busy");
    await page.keyboard.press("f");
    await page.getByLabel(/Why\?/).fill("kept");
    await page.route("**/judgment", (r) =>
      r.fulfill({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "5" },
        body: '{"error":{"code":"KEEL_E_RATE_LIMITED","message":"too many requests; retry in 4321 ms"}}',
      }),
    );
    await page.getByRole("button", { name: /Tie/ }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toBe(
      "“Tie” was not saved: too many requests; wait 5 s, then try again",
    );
    await page.unroute("**/judgment");
    await expect(page.getByLabel(/Flag as unsafe/).isChecked()).resolves.toBe(true);
    await expect(page.getByLabel(/Why\?/).inputValue()).resolves.toBe("kept");
    await page.getByRole("button", { name: /Tie/ }).click();
    await expect.poll(() => judged(page)).toBe("1");
    await expect(status(page)).resolves.toBe("Saved: Tie, flagged unsafe. 1 judged.");
    await context.close();
  });

  it("an answer lost on the way back is not called unsaved, and the retry is told it was recorded", async () => {
    await app.member("lost", ["p"]);
    const { context, page } = await app.rating("lost");
    const first = await taskId(page);
    // The judgment reaches the server and is saved; its answer never reaches the page.
    await page.route("**/judgment", async (r) => {
      await r.fetch();
      await r.abort();
    });
    await page.keyboard.press("1");
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /^“Response 1 is better” may not have been saved: the server cannot be reached/,
    );
    expect(await app.judgmentsOf("lost")).toBe(1);
    await page.unroute("**/judgment");
    await page.keyboard.press("2");
    await nextTask(page, first);
    await expect(status(page)).resolves.toBe(
      "That comparison was already recorded; here is the next one.",
    );
    expect(await app.judgmentsOf("lost")).toBe(1);
    await expect(judged(page)).resolves.toBe("1");
    await context.close();
  });

  it("a rater paused while a comparison is on screen is shown the paused page, not an error", async () => {
    await app.member("stopped", ["p"]);
    const { context, page } = await app.rating("stopped");
    // Paused elsewhere (another process, the audit): this server still holds their lease, and
    // the judgment is refused when it is committed (403, as a paused rater is answered).
    await app.setStatus("stopped", "p", "paused");
    await page.keyboard.press("1");
    await page
      .getByText(
        /^Your work on this project is paused while a reviewer looks at it\. You will be able/,
      )
      .waitFor();
    await expect(page.getByRole("alert").count()).resolves.toBe(0);
    await expect(page.locator(".task").count()).resolves.toBe(0);
    expect(await app.judgmentsOf("stopped")).toBe(0);
    await context.close();

    // Excluded: the same, with what excluded means.
    await app.member("gone", ["p"]);
    const gone = await app.rating("gone");
    await app.setStatus("gone", "p", "excluded");
    await gone.page.getByRole("button", { name: /Tie/ }).click();
    await gone.page.getByText("You are no longer taking part in this project.").waitFor();
    await expect(gone.page.getByRole("alert").count()).resolves.toBe(0);
    await gone.context.close();
  });

  it("a second Enter while signing in on a slow connection signs in once", async () => {
    await app.member("twice", []);
    const context = await app.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.base}/`);
    let sessions = 0;
    await page.route("**/api/session", async (r) => {
      sessions++;
      await new Promise((done) => setTimeout(done, 500));
      await r.continue();
    });
    await page.getByLabel("Login").fill("twice");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Signing in…" }).waitFor();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Projects" }).waitFor();
    expect(sessions).toBe(1);
    await context.close();
  });
});
