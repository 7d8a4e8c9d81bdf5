/**
 * Opens a self-contained HTML report in headless Chromium (Debian's, with the flags the project
 * uses) and reads what a reader would see: the number of marks in each chart, console errors,
 * and any request that left the file (a self-contained report makes none).
 */
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

export interface OpenedReport {
  /** Marks (paths, lines, rects inside Vega mark groups) per chart, in page order. */
  readonly chartMarks: number[];
  readonly errors: string[];
  readonly requests: string[];
}

/** Opens `file`, runs `inspect` on the page while it is open, and reports what it saw. */
export async function openReport(
  file: string,
  inspect?: (page: Page) => Promise<void>,
): Promise<OpenedReport> {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
    const chartMarks = await page.$$eval(".chart svg", (svgs) =>
      svgs.map(
        (svg) =>
          svg.querySelectorAll(
            "g[class*='mark-'] path, g[class*='mark-'] line, g[class*='mark-'] rect",
          ).length,
      ),
    );
    await inspect?.(page);
    return { chartMarks, errors, requests };
  } finally {
    await browser.close();
  }
}
