/** keel users add|set|invite|list and keel project create|add|set|list|show, through the real CLI. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { collectionDb, listItems, listMembers } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel users and keel project", () => {
  it("creates users and a project with items, quiz and members; invites; lists", async () => {
    const dir = tempDir();
    const db = join(dir, "k.db");
    // Like every command but init, users and project need a store: a mistyped --db makes none.
    const none = await runCli(["users", "add", "rita", "--role", "rater", "--db", db]);
    expect(none.code).toBe(74);
    expect(none.stderr).toContain(`no keel store at ${db}`);
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const add = await runCli([
      "users",
      "add",
      "rita",
      "--role",
      "rater",
      "--token",
      "script",
      "--json",
      "--db",
      db,
    ]);
    expect(add.code, add.stderr).toBe(0);
    const u = JSON.parse(add.stdout) as { user_id: string; token: string };
    expect(u.token).toMatch(/^keel_/);
    const dup = await runCli(["users", "add", "rita", "--role", "rater", "--db", db]);
    expect(dup.code).toBe(65);
    expect(dup.stderr).toMatch(/KEEL_E_DUPLICATE/);
    const bad = await runCli(["users", "add", "x", "--role", "emperor", "--db", db]);
    expect(bad.code).toBe(64);

    const items = join(dir, "items.jsonl");
    writeFileSync(
      items,
      `${[
        { comparison_id: "c1", prompt: "p1", response_a: "a1", response_b: "b1", batch: "b1" },
        { comparison_id: "c2", prompt: "p2", response_a: "a2", response_b: "b2", gold: "a" },
      ]
        .map((x) => JSON.stringify(x))
        .join("\n")}\n`,
    );
    const quiz = join(dir, "quiz.jsonl");
    writeFileSync(
      quiz,
      `${JSON.stringify({ comparison_id: "q1", prompt: "qp", response_a: "qa", response_b: "qb", gold: "b" })}\n`,
    );
    const guide = join(dir, "guide.md");
    writeFileSync(guide, "Be helpful.\n");
    const create = await runCli([
      "project",
      "create",
      "proj",
      "--name",
      "Proj",
      "--items",
      items,
      "--quiz",
      quiz,
      "--guidelines",
      guide,
      "--overlap",
      "2",
      "--gold-rate",
      "0.2",
      "--member",
      "rita",
      "--db",
      db,
    ]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toMatch(/3 items, 1 members/);
    const badQuiz = join(dir, "badquiz.jsonl");
    writeFileSync(
      badQuiz,
      `${JSON.stringify({ comparison_id: "q9", prompt: "x", response_a: "y", response_b: "z" })}\n`,
    );
    const refused = await runCli([
      "project",
      "create",
      "p2",
      "--name",
      "P2",
      "--quiz",
      badQuiz,
      "--db",
      db,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/gold/);

    const inv = await runCli([
      "users",
      "invite",
      "--role",
      "rater",
      "--project",
      "proj",
      "--base-url",
      "https://keel.example",
      "--db",
      db,
    ]);
    expect(inv.code, inv.stderr).toBe(0);
    expect(inv.stdout.trim()).toMatch(/^https:\/\/keel\.example\/invite\/[A-Za-z0-9_-]{43}$/);
    const ls = await runCli(["users", "list", "--json", "--db", db]);
    const users = JSON.parse(ls.stdout) as {
      login: string;
      has_password: boolean;
      password_hash?: string;
    }[];
    expect(users.map((x) => x.login)).toEqual(["rita"]);
    expect(users[0]!.password_hash).toBeUndefined();

    const store = await openStore(db);
    const c = collectionDb(store);
    const its = await listItems(c, "proj");
    expect(its.map((i) => [i.comparison_id, i.kind, i.gold])).toEqual([
      ["c1", "task", null],
      ["c2", "task", "a"],
      ["q1", "quiz", "b"],
    ]);
    expect((await listMembers(c, "proj")).map((m) => m.login)).toEqual(["rita"]);
    await store.close();
  });

  it("adds items and members to a project and reports its progress (list, show)", async () => {
    const dir = tempDir();
    const db = join(dir, "k.db");
    const cli = async (...args: string[]) => {
      const r = await runCli([...args, "--db", db]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    expect(await cli("project", "list")).toContain("no projects");
    const rita = JSON.parse(await cli("users", "add", "rita", "--role", "rater", "--json"));
    await cli("users", "add", "tom", "--role", "rater");
    const item = (i: number, gold?: string) => ({
      comparison_id: `c${i}`,
      prompt: `p${i}`,
      response_a: `a${i}`,
      response_b: `b${i}`,
      ...(gold ? { gold } : {}),
    });
    const write = (name: string, rows: object[]) => {
      const path = join(dir, name);
      writeFileSync(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      return path;
    };
    const first = write("first.jsonl", [item(1), item(2)]);
    await cli("project", "create", "p", "--name", "P", "--items", first, "--overlap", "2");
    const more = write("more.jsonl", [item(2), item(3), item(4, "a")]);
    const added = JSON.parse(
      await cli("project", "add", "p", "--items", more, "--member", "rita", "--json"),
    );
    expect(added).toEqual({
      project_id: "p",
      items: 2,
      items_already_in_project: 1,
      members: 1,
      members_already_in_project: 0,
    });
    const again = JSON.parse(
      await cli("project", "add", "p", "--member", "rita", "--member", "tom", "--json"),
    );
    expect(again).toMatchObject({ members: 1, members_already_in_project: 1 });
    // rita judges c1 and c2, tom c1: c1 has its two judgments (complete), c2 one.
    const judged = write("judged.jsonl", [
      { ...item(1), rater_id: rita.user_id, choice: "a" },
      { ...item(2), rater_id: rita.user_id, choice: "b" },
      { ...item(1), rater_id: "outsider", choice: "b" },
    ]);
    await cli("import", judged);
    const listed = JSON.parse(await cli("project", "list", "--json"));
    expect(listed).toEqual([
      expect.objectContaining({
        project_id: "p",
        tasks: 3,
        gold: 1,
        quiz: 0,
        complete: 1,
        judgments: 3,
        needed: 6,
        members: 2,
      }),
    ]);
    const shown = JSON.parse(await cli("project", "show", "p", "--json"));
    expect(
      shown.members.map((m: { login: string; judgments: number }) => [m.login, m.judgments]),
    ).toEqual([
      ["rita", 2],
      ["tom", 0],
    ]);
    expect(await cli("project", "show", "p")).toMatch(/complete: 1 of 3 tasks \(33\.3%\)/);
    // Settings: what changed is printed; a bad value names its flag and changes nothing.
    const set = JSON.parse(
      await cli("project", "set", "p", "--overlap", "1", "--name", "Renamed", "--json"),
    );
    expect(set.changed).toEqual([
      { setting: "name", before: "P", after: "Renamed" },
      { setting: "overlap", before: 2, after: 1 },
    ]);
    const bad = await runCli(["project", "set", "p", "--gold-rate", "2", "--db", db]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("--gold-rate: ");
    // With overlap 1, c2 (one judgment) is now complete too.
    expect(JSON.parse(await cli("project", "list", "--json"))[0]).toMatchObject({
      name: "Renamed",
      complete: 2,
      needed: 3,
    });
    // keel export --project: only the judgments of the project's items.
    const other = write("other.jsonl", [{ ...item(9), rater_id: rita.user_id, choice: "a" }]);
    await cli("import", other);
    const out = join(dir, "p.jsonl");
    const exported = JSON.parse(
      await cli("export", "-f", "judgments", "-o", out, "--project", "p", "--json"),
    );
    // "from N judgments" counts the project's (3), not the store's (4).
    expect(exported).toMatchObject({ project: "p", judgments: 3, written: 3 });
    const ids = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).comparison_id);
    expect(ids).toEqual(["c1", "c2", "c1"]);
    const noProject = await runCli([
      "export",
      "-f",
      "trl",
      "-o",
      out,
      "--project",
      "nope",
      "--db",
      db,
    ]);
    expect(noProject.code).toBe(66);
    const missing = await runCli(["project", "show", "nope", "--db", db]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('KEEL_E_NOT_FOUND: no project "nope"');
    const nothing = await runCli(["project", "add", "p", "--db", db]);
    expect(nothing.code).toBe(64);
    const stranger = await runCli(["project", "add", "p", "--member", "zed", "--db", db]);
    expect(stranger.stderr).toContain('no user "zed"');
  });
});

describe("keel users set", () => {
  it("disables a user (sessions ended, token refused by a running server), re-enables and changes the role", async () => {
    const dir = tempDir();
    const db = join(dir, "k.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const add = await runCli([
      "users",
      "add",
      "mal",
      "--role",
      "rater",
      "--token",
      "t",
      "--json",
      "--db",
      db,
    ]);
    expect(add.code, add.stderr).toBe(0);
    const { token } = JSON.parse(add.stdout) as { token: string };
    const store = await openStore(db);
    const { app } = await buildApp(store, { logLevel: "silent", authCacheMs: 0 });
    const me = async () =>
      (
        await app.inject({
          method: "GET",
          url: "/api/me",
          headers: { authorization: `Bearer ${token}` },
        })
      ).statusCode;
    try {
      expect(await me()).toBe(200);
      const off = await runCli(["users", "set", "mal", "--disable", "--json", "--db", db]);
      expect(off.code, off.stderr).toBe(0);
      expect(JSON.parse(off.stdout)).toMatchObject({
        disabled: true,
        changed: ["disabled"],
        signed_out: true,
      });
      expect(await me()).toBe(401);
      const on = await runCli([
        "users",
        "set",
        "mal",
        "--enable",
        "--role",
        "reviewer",
        "--db",
        db,
      ]);
      expect(on.stdout).toContain("mal: role: rater → reviewer, enabled");
      expect(await me()).toBe(200);
    } finally {
      await app.close();
      await store.close();
    }
    const both = await runCli(["users", "set", "mal", "--disable", "--enable", "--db", db]);
    expect(both.code).toBe(64);
    const none = await runCli(["users", "set", "nobody", "--disable", "--db", db]);
    expect(none.code).toBe(66);
  });
});

describe("keel serve and --db", () => {
  it("refuses a store that is not there (no new empty store) and a file that is not SQLite", async () => {
    const dir = tempDir();
    const missing = join(dir, "typo.db");
    const r = await runCli(["serve", "--db", missing, "--port", "0", "--no-web"]);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain(`KEEL_E_STORE: no keel store at ${missing}`);
    expect(existsSync(missing)).toBe(false);
    const text = join(dir, "notes.db");
    writeFileSync(text, "these are notes, not a database\n".repeat(100));
    const s = await runCli(["stats", "--db", text]);
    expect(s.code).toBe(74);
    expect(s.stderr).toContain(
      `KEEL_E_STORE: ${text}: cannot open SQLite database: file is not a database`,
    );
    expect(s.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("keel serve on an address it cannot have", () => {
  it("says which address and why, exit 64, and exits instead of hanging", async () => {
    const dir = tempDir();
    const db = join(dir, "k.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      // A real process: a handle left open after the failure would keep it alive.
      const child = spawn(
        process.execPath,
        [
          ...["--import", "tsx", fileURLToPath(new URL("./serve-child.ts", import.meta.url))],
          ...["serve", "--db", db, "--port", String(port), "--no-web"],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`keel serve still running 30 s after failing to listen: ${stderr}`));
        }, 30_000);
        child.once("exit", (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, stderr).toBe(64);
      expect(stderr).toContain(
        `KEEL_E_USAGE: cannot listen on 127.0.0.1:${port}: the address is already in use`,
      );
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      taken.close();
    }
  }, 60_000);
});
