/**
 * `keel users` and `keel project` at their edges: values the API would refuse, files that cannot
 * be read, and untrusted names printed to a terminal.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  addMembers,
  collectionDb,
  createUser,
  setMemberStatus,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { fakeStdin } from "../helpers/stdin.js";
import { type DialectFixture, dialectFixtures, tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-users-project-");
const fixtures = dialectFixtures();
/** A new store (keel init: users and project need one), SQLite unless `fx` says otherwise. */
async function freshDb(fx: DialectFixture = fixtures[0]!): Promise<string> {
  const db = fx.target();
  expect((await runCli(["init", "--db", db])).code).toBe(0);
  return db;
}

/** Characters that drive or deceive a terminal: ESC, the one-byte CSI, a bidi override. */
const NASTY = "x\u001b[2J\u009b31m\u202eevil";

function expectEscaped(text: string): void {
  expect(text).not.toMatch(/[\u001b\u009b\u202e]/);
  expect(text).toContain("\\u202e");
}

describe("keel users add", () => {
  it("refuses the logins, names and passwords the server would refuse, and writes nothing", async () => {
    const db = await freshDb();
    for (const login of ["", "a", "bob smith", NASTY, "l".repeat(65)]) {
      const r = await runCli(["users", "add", login, "--role", "rater", "--db", db]);
      expect(r.code, login).toBe(64);
      expect(r.stderr).toContain("KEEL_E_USAGE");
      expect(r.stderr).not.toMatch(/[\u001b\u009b\u202e]/);
    }
    const long = await runCli([
      "users",
      "add",
      "bob",
      "--role",
      "rater",
      "--name",
      "n".repeat(101),
      "--db",
      db,
    ]);
    expect(long.code).toBe(64);
    expect(long.stderr).toContain("--name");
    // Past 256 characters the sign-in form refuses the password: such a user could never sign in.
    fakeStdin([Buffer.from(`${"p".repeat(300)}\n`)]);
    const pw = await runCli([
      "users",
      "add",
      "bob",
      "--role",
      "rater",
      "--password-stdin",
      "--db",
      db,
    ]);
    expect(pw.code).toBe(64);
    expect(pw.stderr).toContain("the password");
    // On a terminal it would echo the password and wait for an end of input nobody asked for.
    fakeStdin([]);
    Object.defineProperty(process.stdin, "isTTY", { value: true, configurable: true });
    const onTerminal = await runCli([
      ...["users", "add", "bob", "--role", "rater", "--password-stdin", "--db", db],
    ]);
    expect(onTerminal.code).toBe(64);
    expect(onTerminal.stderr).toContain("--password-stdin reads a pipe, not a terminal");
    const list = await runCli(["users", "list", "--json", "--db", db]);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const ok = await runCli(["users", "add", "bob.smith@x", "--role", "rater", "--db", db]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

for (const fx of fixtures) {
  describe(`keel users list and set (${fx.name})`, () => {
    it("escapes logins and names that another tool put in the store", async () => {
      const db = await freshDb(fx);
      const store = await openStore(db, { create: true });
      await createUser(
        collectionDb(store),
        { login: NASTY, role: "rater", display_name: NASTY },
        new Date(),
      );
      await store.close();
      const list = await runCli(["users", "list", "--db", db]);
      expect(list.code).toBe(0);
      expectEscaped(list.stdout);
      const set = await runCli(["users", "set", NASTY, "--name", "plain", "--db", db]);
      expect(set.code, set.stderr).toBe(0);
      expectEscaped(set.stdout);
    });
  });
}

describe("keel users invite", () => {
  it("refuses an expiry the API would refuse (no internal error), and a base URL that is no link", async () => {
    const db = await freshDb();
    for (const hours of ["Infinity", "1e12", "2161", "0", "-1", "soon"]) {
      const r = await runCli(["users", "invite", "--role", "rater", "--hours", hours, "--db", db]);
      expect(r.code, hours).toBe(64);
      expect(r.stderr).toContain("--hours");
    }
    const bad = await runCli([
      "users",
      "invite",
      "--role",
      "rater",
      "--base-url",
      "feedback.example.org",
      "--db",
      db,
    ]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("--base-url");
    const r = await runCli([
      "users",
      "invite",
      "--role",
      "rater",
      "--hours",
      "2160",
      "--base-url",
      "https://f.example.org/",
      "--json",
      "--db",
      db,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const inv = JSON.parse(r.stdout);
    expect(inv.url).toMatch(/^https:\/\/f\.example\.org\/invite\/\S+$/);
    expect(Date.parse(inv.expires_at) - Date.parse(inv.created_at)).toBe(2160 * 3600_000);
  });
});

for (const fx of fixtures) {
  describe(`keel project (${fx.name})`, () => {
    it("names a guidelines file it cannot read (KEEL_E_FILE, not an internal error)", async () => {
      const db = await freshDb(fx);
      const missing = await runCli([
        "project",
        "create",
        "p1",
        "--name",
        "P",
        "--guidelines",
        join(dir, "nope.md"),
        "--db",
        db,
      ]);
      expect(missing.code).toBe(66);
      expect(missing.stderr).toContain("KEEL_E_FILE");
      expect(missing.stderr).toContain("nope.md");
      expect((await runCli(["project", "create", "p1", "--name", "P", "--db", db])).code).toBe(0);
      const folder = await runCli(["project", "set", "p1", "--guidelines", dir, "--db", db]);
      expect(folder.code).toBe(66);
      expect(folder.stderr).toContain("is a directory");
    });

    it("refuses guidelines a database could not keep as given (NUL), and writes nothing", async () => {
      const db = await freshDb(fx);
      const bad = join(dir, `nul-${fx.name}.md`);
      writeFileSync(bad, "Be kind.\u0000\n");
      const create = ["project", "create", "p1", "--name", "P", "--guidelines", bad, "--db", db];
      const r = await runCli(create);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(
        'KEEL_E_INVALID_RECORD: id "p1": guidelines: must not contain NUL characters',
      );
      expect(JSON.parse((await runCli(["project", "list", "--json", "--db", db])).stdout)).toEqual(
        [],
      );
      expect((await runCli(["project", "create", "p1", "--name", "P", "--db", db])).code).toBe(0);
      const set = await runCli(["project", "set", "p1", "--guidelines", bad, "--db", db]);
      expect(set.code, set.stderr).toBe(65);
      expect(set.stderr).toContain("guidelines: must not contain NUL characters");
      const shown = await runCli(["project", "show", "p1", "--json", "--db", db]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ project: { guidelines: "" } });
      // Bytes that are not UTF-8: refused at their line, not stored as U+FFFD.
      const latin1 = join(dir, `latin1-${fx.name}.md`);
      writeFileSync(latin1, Buffer.from("Be kind.\nCaf\xe9 rules.\n", "latin1"));
      const l = await runCli(["project", "set", "p1", "--guidelines", latin1, "--db", db]);
      expect(l.code, l.stderr).toBe(65);
      expect(l.stderr).toContain(`${latin1}:2`);
      const after = await runCli(["project", "show", "p1", "--json", "--db", db]);
      expect(JSON.parse(after.stdout)).toMatchObject({ project: { guidelines: "" } });
    });

    it("escapes project names, seeds, logins and pause reasons in list, show and set", async () => {
      const db = await freshDb(fx);
      const store = await openStore(db, { create: true });
      const cdb = collectionDb(store);
      const u = await createUser(cdb, { login: NASTY, role: "rater" }, new Date());
      await store.close();
      writeFileSync(join(dir, "g.md"), "Be kind.\n");
      const create = await runCli([
        "project",
        "create",
        "p1",
        "--name",
        NASTY,
        "--seed",
        NASTY,
        "--db",
        db,
      ]);
      expect(create.code, create.stderr).toBe(0);
      const again = await openStore(db);
      await addMembers(collectionDb(again), "p1", [u.user_id], new Date());
      await setMemberStatus(
        collectionDb(again),
        {
          project_id: "p1",
          user_id: u.user_id,
          status: "paused",
          action: "pause",
          actor_id: null,
          reason: NASTY,
        },
        new Date(),
      );
      await again.close();
      for (const args of [
        ["project", "list"],
        ["project", "show", "p1"],
        ["project", "set", "p1", "--name", "plain"],
      ]) {
        const r = await runCli([...args, "--db", db]);
        expect(r.code, r.stderr).toBe(0);
        expectEscaped(r.stdout);
      }
    });
  });
}

for (const fx of fixtures) {
  describe(`keel project add --member (${fx.name})`, () => {
    it("counts a login given twice once, not as a member already there", async () => {
      const db = await freshDb(fx);
      expect((await runCli(["users", "add", "bob", "--role", "rater", "--db", db])).code).toBe(0);
      expect((await runCli(["project", "create", "p1", "--name", "P", "--db", db])).code).toBe(0);
      const r = await runCli([
        "project",
        "add",
        "p1",
        "--member",
        "bob",
        "--member",
        "bob",
        "--json",
        "--db",
        db,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ members: 1, members_already_in_project: 0 });
      const text = await runCli(["project", "add", "p1", "--member", "bob", "--db", db]);
      expect(text.stdout).toContain("added 0 items (0 already there), 0 members (1 already there)");
    });
  });
}
