/** A store made by `keel init` for a CLI import test, and what it holds afterwards. */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "./cli.js";
import { collect } from "./data.js";

/** A fresh directory under `root` with an empty store, `db`, in it. */
export async function initedStore(root: string): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(join(root, "d"));
  const db = join(dir, "k.db");
  expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
  return { dir, db };
}

/** Every judgment of the store at `db`, in the store's order. */
export async function storedJudgments(db: string): Promise<Judgment[]> {
  const store = await openStore(db);
  try {
    return await collect(store.judgments());
  } finally {
    await store.close();
  }
}
