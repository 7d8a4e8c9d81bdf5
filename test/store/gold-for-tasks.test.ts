/**
 * A comparison that is an ordinary task of a project cannot be given a gold answer afterwards,
 * by any path: `keel project add` refused it, but `keel import` of gold answers, or of judgments
 * whose lines carry `gold`, set it, and the item turned into a gold one (served to every rater,
 * the judgments already given counted as gold answers) in the next server process while the
 * running one kept it ordinary. A comparison in no project, or a quiz item's agreeing gold, is
 * still accepted.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { addItems, collectionDb, createProject } from "../../src/store/collection/index.js";
import type { FeedbackStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { asBatches, taskItem } from "../helpers/data.js";
import { dialectFixtures, PG_URL, reopenStore, tempDir } from "../helpers/stores.js";

/** A judgment of `id` with the texts `taskItem(id)` gives it. */
function judgment(id: string, rater: string, gold?: "a" | "b"): Judgment {
  return {
    ...taskItem(id).comparison,
    rater_id: rater,
    choice: "a",
    ...(gold ? { gold } : {}),
  };
}

/** A store whose project p1 has the ordinary task t0 (judged once) and c9 in no project. */
async function withTask(store: FeedbackStore): Promise<void> {
  const db = collectionDb(store);
  await createProject(db, { project_id: "p1", name: "one" }, new Date());
  await store.importJudgments(asBatches([judgment("t0", "r0"), judgment("c9", "r0")]));
  await addItems(db, "p1", [taskItem("t0")]);
}

async function goldOf(store: FeedbackStore, id: string): Promise<string | null | undefined> {
  const row = await collectionDb(store)
    .selectFrom("comparisons")
    .select("gold")
    .where("comparison_id", "=", id)
    .executeTakeFirst();
  return row?.gold;
}

for (const d of dialectFixtures()) {
  describe(`gold for a project's ordinary task (${d.name})`, () => {
    let store: FeedbackStore | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it("refuses a gold answer file's line for it, names the line, and writes nothing", async () => {
      store = await d.open();
      await withTask(store);
      const head = await store.ledgerHead();
      await expect(
        store.importGold(
          asBatches([
            { comparison_id: "c9", gold: "b" as const },
            { comparison_id: "t0", gold: "a" as const },
          ]),
          { source: "gold.jsonl" },
        ),
      ).rejects.toMatchObject({
        code: "KEEL_E_CONFLICT",
        where: { file: "gold.jsonl", line: 2, field: "gold" },
        message: expect.stringContaining('ordinary task of project "p1"'),
      });
      expect(await goldOf(store, "t0")).toBeNull();
      expect(await goldOf(store, "c9")).toBeNull();
      // With --skip-invalid the other line is set and this one rejected.
      const r = await store.importGold(
        asBatches([
          { comparison_id: "c9", gold: "b" as const },
          { comparison_id: "t0", gold: "a" as const },
        ]),
        { skipInvalid: true },
      );
      expect(r).toMatchObject({ read: 2, written: 1, rejected: 1 });
      expect(await goldOf(store, "c9")).toBe("b");
      expect(await goldOf(store, "t0")).toBeNull();
      expect(await store.ledgerHead()).toEqual(head);
    });

    it("refuses a judgment that carries gold for it; one without gold is appended", async () => {
      store = await d.open();
      await withTask(store);
      await expect(
        store.importJudgments(asBatches([judgment("t0", "r1"), judgment("t0", "r2", "a")])),
      ).rejects.toMatchObject({ code: "KEEL_E_CONFLICT", where: { line: 2, field: "gold" } });
      expect((await store.ledgerHead()).seq).toBe(2);
      const r = await store.importJudgments(
        asBatches([judgment("t0", "r1"), judgment("t0", "r2", "a")]),
        { skipInvalid: true },
      );
      expect(r).toMatchObject({ appended: 1, rejected: 1 });
      expect(await goldOf(store, "t0")).toBeNull();
    });
  });
}

for (const d of dialectFixtures()) {
  describe(`gold for a project's ordinary task, through keel import (the bulk path, ${d.name})`, () => {
    it("refuses a judgments file line that gives it gold, naming file and line", async () => {
      const dir = tempDir();
      const store = await d.open();
      try {
        await withTask(store);
      } finally {
        await store.close();
      }
      const url = new URL(PG_URL);
      url.searchParams.set("schema", store.schema ?? "");
      const db = d.name === "sqlite" ? store.location : url.toString();
      const file = join(dir, "more.jsonl");
      writeFileSync(
        file,
        `${[judgment("c9", "r1", "b"), judgment("t0", "r1", "a")].map((j) => JSON.stringify(j)).join("\n")}\n`,
      );
      const r = await runCli(["import", file, "--db", db]);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain("KEEL_E_CONFLICT");
      expect(r.stderr).toContain("more.jsonl:2");
      expect(r.stderr).toContain('ordinary task of project "p1"');
      const after = await reopenStore(store);
      try {
        expect((await after.ledgerHead()).seq).toBe(2);
        expect(await goldOf(after, "t0")).toBeNull();
        expect(await goldOf(after, "c9")).toBeNull();
      } finally {
        await after.close();
      }
    });
  });
}
