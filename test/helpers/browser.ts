/**
 * Debian's Chromium as the browser tests launch it (headless, the project's flags), and signing
 * in to the rater web app the way a user does.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "./report-page.js";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, "--disable-quic", "--disable-sync"],
  });
}

/** Signs in on the app at `base` through its form and waits for the projects page. */
export async function signIn(
  page: Page,
  base: string,
  login: string,
  password: string,
): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel("Login").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
}
