/**
 * keel on a real full disk and a real read-only mount: small tmpfs file systems mounted for this
 * file (mounting needs root, which CI has; elsewhere the suite says it did not run and why).
 * What must hold: a clear error naming the path and what ran out, the exit code of docs/cli.md,
 * the store intact and usable, and the same command working once there is room.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { ensureDir, writeFileAtomic } from "../../src/engine/checkpoint/atomic.js";
import { WorkerAppend } from "../../src/server/tasks/append.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";

const isRoot = process.getuid?.() === 0;
const root = mkdtempSync(join(tmpdir(), "keel-mounts-"));
const full = join(root, "full");
const ro = join(root, "ro");
const tiny = join(root, "tiny");
const srv = join(root, "srv");
const mounted: string[] = [];

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  mounted.push(dir);
}

beforeAll(() => {
  if (!isRoot) return;
  mountTmpfs(full, "size=512k");
  mountTmpfs(ro, "ro,size=64k");
  mountTmpfs(tiny, "size=64k");
  mountTmpfs(srv, "size=1m");
});

/** Fills the file system at `dir` to the last byte. */
function fill(dir: string): void {
  const fd = openSync(join(dir, "filler"), "w");
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
}
afterAll(() => {
  for (const dir of mounted.reverse()) execFileSync("umount", [dir]);
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!isRoot)(
  "on tmpfs mounts (needs root to mount them: not run as another user)",
  () => {
    it("a directory on a read-only mount is refused as read-only, not as missing", () => {
      let e: unknown;
      try {
        ensureDir(join(ro, "run", "checkpoints"));
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(KeelError);
      expect((e as KeelError).message).toContain(join(ro, "run", "checkpoints"));
      expect((e as KeelError).message).toContain("read-only file system");
      expect((e as KeelError).message).not.toContain("no such file or directory");
      expect(() => writeFileAtomic(join(ro, "a", "b.json"), "{}")).toThrow(/read-only file system/);
    });

    it("keel world generate into a read-only mount says so", async () => {
      const r = await runCli([
        "world",
        "generate",
        "-c",
        "examples/world-honest.yaml",
        "--comparisons",
        "20",
        "--out",
        join(ro, "world"),
        "-q",
      ]);
      expect(r.code).toBe(66);
      expect(r.stderr).toContain("KEEL_E_FILE");
      expect(r.stderr).toContain("read-only file system");
      expect(r.stderr).not.toContain("no such file or directory");
    });

    it("an import that fills the disk is KEEL_E_STORE (exit 74); the store is intact and takes it once there is room", async () => {
      const db = join(full, "keel.db");
      expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
      const input = join(root, "judgments.jsonl");
      const judgments = makeJudgments(300, 3).map((j) => ({
        ...j,
        response_a: `${j.response_a} ${"padding ".repeat(40)}${j.comparison_id}`,
      }));
      writeFileSync(input, `${judgments.map((j) => JSON.stringify(j)).join("\n")}\n`);

      const failed = await runCli(["import", input, "--db", db, "--no-parallel", "-q"]);
      expect(failed.code).toBe(74);
      expect(failed.stderr).toContain("KEEL_E_STORE");
      expect(failed.stderr).toContain(db);
      expect(failed.stderr).not.toContain("this is a bug in keel");
      const verify = await runCli(["ledger", "verify", "--db", db, "--json"]);
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, rows: 0 });

      execFileSync("mount", ["-o", "remount,size=8m", full]);
      const ok = await runCli(["import", input, "--db", db, "--no-parallel", "-q"]);
      expect(ok.code).toBe(0);
      const after = await runCli(["ledger", "verify", "--db", db, "--json"]);
      expect(JSON.parse(after.stdout)).toMatchObject({ ok: true, rows: 900 });
      expect(readdirSync(full).filter((f) => f.includes(".tmp-"))).toEqual([]);
    });

    it("a small output on a full disk fails and keeps the file it would have replaced", async () => {
      const input = join(root, "small.jsonl");
      writeFileSync(
        input,
        `${makeJudgments(4, 3)
          .map((j) => JSON.stringify(j))
          .join("\n")}\n`,
      );
      const out = join(tiny, "aggregate.json");
      writeFileSync(out, "the previous result\n");
      fill(tiny);
      const r = await runCli(["aggregate", "-i", input, "--out", out, "-q"]);
      expect(r.code).toBe(66);
      expect(r.stderr).toContain(`${out}: cannot write: no space left on device`);
      expect(readFileSync(out, "utf8")).toBe("the previous result\n");
      expect(readdirSync(tiny).sort()).toEqual(["aggregate.json", "filler"]);

      // A store cannot be made there either: said as the device being full, not as a bad --db.
      const init = await runCli(["init", "--db", join(tiny, "keel.db"), "-q"]);
      expect(init.code).toBe(74);
      expect(init.stderr).toContain("SQLITE_FULL");
      expect(init.stderr).toContain("free space on that device");
      rmSync(join(tiny, "keel.db"), { force: true });

      rmSync(join(tiny, "filler"));
      expect((await runCli(["aggregate", "-i", input, "--out", out, "-q"])).code).toBe(0);
      expect(JSON.parse(readFileSync(out, "utf8"))).toHaveProperty("method");
    });

    it("the server's ledger append on a full disk is refused as KEEL_E_STORE (503), never acknowledged", async () => {
      const db = join(srv, "keel.db");
      await (await openStore(db, { create: true })).close();
      const w = await WorkerAppend.start(db, { restartIntervalMs: 60_000 });
      try {
        const judgment = (i: number) => ({
          comparison_id: `c${i}`,
          prompt: `prompt ${i} ${"words ".repeat(20_000)}`,
          response_a: "a",
          response_b: "b",
          rater_id: "r1",
          choice: "a" as const,
        });
        await w.append([judgment(1)]);
        fill(srv);
        const e = await w.append([judgment(2), judgment(3)]).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(KeelError);
        expect((e as KeelError).code).toBe("KEEL_E_STORE");
        expect((e as KeelError).httpStatus).toBe(503);

        rmSync(join(srv, "filler"));
        expect((await w.append([judgment(2)])).rows.map((r) => r.seq)).toEqual([2]);
      } finally {
        await w.close();
      }
      const store = await openStore(db);
      try {
        expect(await store.countJudgments()).toBe(2);
        expect((await store.verifyLedger()).ok).toBe(true);
      } finally {
        await store.close();
      }
    });
  },
);
