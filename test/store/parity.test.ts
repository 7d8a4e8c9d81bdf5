/** The same operations give the same answers on SQLite and PostgreSQL. */
import { describe, expect, it } from "vitest";
import {
  addMembers,
  collectionDb,
  createProject,
  createUser,
  listMembers,
  listUsers,
} from "../../src/store/collection/index.js";
import { storeStats } from "../../src/store/stats.js";
import { asBatches } from "../helpers/data.js";
import { dialectFixtures } from "../helpers/stores.js";

for (const fx of dialectFixtures()) {
  describe(`store parity on ${fx.name}`, () => {
    it("lists raters in code-unit order whatever the database's collation", async () => {
      const store = await fx.open();
      try {
        if (fx.name === "postgres") {
          // A database created with an en_US locale orders text this way ("a" before "B").
          for (const table of ["judgments", "raters"]) {
            await store.rawExecute(
              `ALTER TABLE ${table} ALTER COLUMN rater_id TYPE text COLLATE "en-x-icu"`,
            );
          }
        }
        const ids = ["b", "B", "a", "A", "_z", "Z"];
        await store.importJudgments(
          asBatches(
            ids.map((rater_id) => ({
              comparison_id: "c1",
              prompt: "p",
              response_a: "x",
              response_b: "y",
              rater_id,
              choice: "a" as const,
            })),
          ),
        );
        const sorted = ["A", "B", "Z", "_z", "a", "b"];
        expect((await storeStats(store)).per_rater.map((r) => r.rater_id)).toEqual(sorted);
        expect((await store.raters()).map((r) => r.rater_id)).toEqual(sorted);
      } finally {
        await store.close();
      }
    });
  });
}

for (const fx of dialectFixtures()) {
  describe(`collection lists on ${fx.name}`, () => {
    it("list users and a project's members in code-unit order of login whatever the collation", async () => {
      const store = await fx.open();
      try {
        if (fx.name === "postgres") {
          await store.rawExecute(
            `ALTER TABLE users ALTER COLUMN login TYPE text COLLATE "en-x-icu"`,
          );
        }
        const db = collectionDb(store);
        await createProject(db, { project_id: "p", name: "p" }, new Date(0));
        const logins = ["bob", "Carol", "a.z", "ab", "Bob", "_x"];
        const ids: string[] = [];
        const at = new Date("2026-01-01T00:00:00Z"); // one instant: the login decides
        for (const login of logins)
          ids.push((await createUser(db, { login, role: "rater" }, at)).user_id);
        await addMembers(db, "p", ids, at);
        const sorted = ["Bob", "Carol", "_x", "a.z", "ab", "bob"];
        expect((await listUsers(db)).map((u) => u.login)).toEqual(sorted);
        expect((await listMembers(db, "p")).map((m) => m.login)).toEqual(sorted);
      } finally {
        await store.close();
      }
    });
  });
}
