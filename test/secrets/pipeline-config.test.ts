/**
 * `keel run` with `collect: {from: store, path: postgres://user:password@…}`: the run directory
 * records its config (config.yaml), the progress lines and --check show the stage titles, so a
 * password in the URL is refused before anything is written, as an inline api_key is.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const SECRET = "keel-Secret-pw-7Q";

describe("a password in collect.path", () => {
  const dir = tempDir("keel-secrets-run-");

  for (const url of [
    `postgres://postgres:${SECRET}@127.0.0.1:5432/test?schema=s1`,
    `postgresql://127.0.0.1:5432/test?user=postgres&password=${SECRET}`,
  ]) {
    it(`is refused, and printed nowhere: ${url.replace(SECRET, "…")}`, async () => {
      const config = join(dir, "p.yaml");
      writeFileSync(
        config,
        `name: sec\nseed: 7\npreset: quick\ncollect: { from: store, path: "${url}" }\n`,
      );
      const out = join(dir, "out");
      for (const extra of [["--check"], ["--check", "--json"], []]) {
        const r = await runCli(["run", "-c", config, "-o", out, ...extra]);
        expect(r.code, r.stderr).toBe(78);
        expect(r.stderr).toContain("collect.path: a run directory records its config");
        expect(r.stderr).toContain("PGPASSWORD");
        expect(r.stdout + r.stderr).not.toContain(SECRET);
        expect(existsSync(out)).toBe(false);
      }
    });
  }

  it("a URL without a password passes the check", async () => {
    const config = join(dir, "ok.yaml");
    writeFileSync(
      config,
      'name: sec\nseed: 7\npreset: quick\ncollect: { from: store, path: "postgres://postgres@127.0.0.1:5432/test" }\n',
    );
    const r = await runCli(["run", "-c", config, "-o", join(dir, "out-ok"), "--check"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "the judgments of the store postgres://postgres@127.0.0.1:5432/test",
    );
  });
});
