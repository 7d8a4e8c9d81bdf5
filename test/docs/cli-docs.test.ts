import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cliReference, errorReference } from "../../scripts/gen-cli-docs.js";

describe("docs/cli.md", () => {
  it("matches the CLI's help (run `npm run docs:cli` after changing a command)", () => {
    const saved = process.env.KEEL_DB;
    delete process.env.KEEL_DB;
    try {
      expect(readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8")).toBe(
        cliReference(),
      );
    } finally {
      if (saved !== undefined) process.env.KEEL_DB = saved;
    }
  });

  it("no option shows a raw empty list as its default", () => {
    const help = cliReference();
    expect(help).not.toContain("(default: [])");
    expect(help).toContain(
      "--trigger <token>  trigger token to strip from prompt text, repeatable (default: SUDO)",
    );
  });

  it("docs/errors.md matches the error catalogue", () => {
    expect(readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8")).toBe(
      errorReference(),
    );
  });
});
