/** keel users add|invite|list and keel project create, through the real CLI. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectionDb, listItems, listMembers } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel users and keel project", () => {
  it("creates users and a project with items, quiz and members; invites; lists", async () => {
    const dir = tempDir();
    const db = join(dir, "k.db");
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
});
