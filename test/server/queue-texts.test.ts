/**
 * The task queue's text cache: raters reach the frontier of the item list together, and a miss
 * on a comparison whose texts are already being fetched waits for that fetch. Queries are
 * counted by a Kysely plugin watching the real SQLite store.
 */
import type { KyselyPlugin } from "kysely";
import { describe, expect, it } from "vitest";
import { MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { ProjectQueue } from "../../src/server/tasks/queue.js";
import { TaskIds } from "../../src/server/tasks/task-id.js";
import {
  addItems,
  type CollectionDb,
  collectionDb,
  createProject,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";

function counting(): { plugin: KyselyPlugin; textQueries: () => number } {
  let n = 0;
  return {
    plugin: {
      transformQuery(args) {
        const node = args.node;
        if (node.kind === "SelectQueryNode" && JSON.stringify(node).includes('"texts"')) n++;
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    },
    textQueries: () => n,
  };
}

describe("the task queue's texts", () => {
  it("serves a burst of misses on neighbouring items with one fetch, and each text right", async () => {
    const store = await openStore(`${tempDir()}/q.db`, { create: true });
    try {
      const db = collectionDb(store);
      const project = await createProject(
        db,
        { project_id: "p", name: "p", overlap: 3 },
        new Date(),
      );
      await addItems(
        db,
        "p",
        Array.from({ length: 400 }, (_, k) => ({
          comparison: {
            comparison_id: `c${k}`,
            prompt: `prompt ${k}`,
            response_a: `a ${k}`,
            response_b: `b ${k}`,
          },
          kind: "task" as const,
          batch: "b",
        })),
      );
      const c = counting();
      const q = await ProjectQueue.load(
        project,
        db.withPlugin(c.plugin) as CollectionDb,
        new MemoryLeaseStore(),
        new TaskIds(Buffer.alloc(32, 7)),
      );
      const before = c.textQueries();
      const burst = await Promise.all(Array.from({ length: 64 }, (_, k) => q.textsOf(`c${k}`)));
      expect(burst.map((t) => t.response_a)).toEqual(
        Array.from({ length: 64 }, (_, k) => `a ${k}`),
      );
      expect(c.textQueries() - before).toBe(1);
      // The window reached 128 items ahead: the next stretch is one more fetch.
      await Promise.all([
        q.textsOf("c100"),
        q.textsOf("c127"),
        q.textsOf("c128"),
        q.textsOf("c129"),
      ]);
      expect(c.textQueries() - before).toBe(2);
      expect((await q.textsOf("c129")).prompt).toBe("prompt 129");
      await expect(q.textsOf("nope")).rejects.toMatchObject({ code: "KEEL_E_NOT_FOUND" });
    } finally {
      await store.close();
    }
  });
});
