/**
 * A SQLite feedback store holds the users' password hashes and the server's secret that keeps
 * gold items apart: `keel init` makes a new one readable by its owner alone, whatever the umask,
 * and `keel serve` warns about one that other users of the machine can read.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("a SQLite store's file mode", () => {
  const dir = tempDir("keel-secrets-mode-");

  it("keel init makes it owner-only, under the usual umask 022", async () => {
    const db = join(dir, "k.db");
    const before = process.umask(0o022);
    try {
      const r = await runCli(["init", "--db", db]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      process.umask(before);
    }
    expect((statSync(db).mode & 0o777).toString(8)).toBe("600");
  });

  it("a failed init leaves no empty file behind", async () => {
    const r = await runCli(["init", "--db", join(dir, "no-such-dir", "k.db")]);
    expect(r.code).not.toBe(0);
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
  });

  /** `keel serve` on a port that is taken: it checks the store, then fails to listen. */
  async function serveStderr(db: string): Promise<string> {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(
        process.execPath,
        [
          ...[
            "--import",
            "tsx",
            fileURLToPath(new URL("../server/serve-child.ts", import.meta.url)),
          ],
          ...["serve", "--db", db, "--port", String(port), "--no-web"],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`keel serve still running after 30 s: ${stderr}`));
        }, 30_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      expect(stderr).toContain("cannot listen on");
      return stderr;
    } finally {
      taken.close();
    }
  }

  it("keel serve warns about a store other users can read, and not about an owner-only one", async () => {
    const db = join(dir, "k.db");
    expect(await serveStderr(db)).not.toContain("readable by other users");
    chmodSync(db, 0o644);
    const stderr = await serveStderr(db);
    expect(stderr).toContain(
      `warning: ${db} is readable by other users of this machine (mode 644)`,
    );
    expect(stderr).toContain(`chmod 600 ${db}`);
  }, 90_000);
});
