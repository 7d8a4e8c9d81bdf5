/**
 * A SQLite store whose disk is full: SQLite says SQLITE_FULL, which keel reports as the store
 * being unavailable (KEEL_E_STORE naming the file, exit 74, HTTP 503), never as a bug in keel.
 * The write is not acknowledged, nothing of it is stored, and once there is room again the
 * same write succeeds and the ledger verifies. `PRAGMA max_page_count` caps the file on this
 * connection (set to 1, it holds the file at its current size), which SQLite reports exactly
 * as a full disk.
 */
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { reportError } from "../../src/cli/output.js";
import { KeelError } from "../../src/core/errors.js";
import { openStore } from "../../src/store/store.js";
import { asBatches, makeJudgments } from "../helpers/data.js";
import { failure } from "../helpers/errors.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-full-store-");

describe("a SQLite store on a full disk", () => {
  it("refuses an import as KEEL_E_STORE, keeps nothing of it, and takes it once there is room", async () => {
    const path = join(dir, "import.db");
    const store = await openStore(path, { create: true });
    try {
      await store.importJudgments(asBatches(makeJudgments(5)));
      const before = await store.verifyLedger();
      await store.rawExecute("PRAGMA max_page_count = 1");
      const e = await failure(store.importJudgments(asBatches(makeJudgments(400, 5))));
      expect(e).toBeInstanceOf(KeelError);
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.exitCode).toBe(74);
      expect(e.message).toContain(path);
      expect(e.message).toMatch(/no space left/);
      expect(await store.countJudgments()).toBe(15);
      expect((await store.verifyLedger()).head).toEqual(before.head);

      await store.rawExecute("PRAGMA max_page_count = 1073741823");
      const r = await store.importJudgments(asBatches(makeJudgments(400, 5)));
      expect(r.appended).toBe(2000 - 15);
      expect((await store.verifyLedger()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("answers a failed append with an error, not an acknowledgement", async () => {
    const path = join(dir, "append.db");
    const store = await openStore(path, { create: true });
    try {
      await store.rawExecute("PRAGMA max_page_count = 1");
      const big = makeJudgments(1, 1).map((j) => ({ ...j, prompt: "x".repeat(200_000) }));
      const e = await failure(store.appendJudgments(big));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.httpStatus).toBe(503);
      expect(await store.countJudgments()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("is reported by the CLI as the store, exit 74, without the bug-report hint", async () => {
    const path = join(dir, "cli.db");
    const store = await openStore(path, { create: true });
    await store.rawExecute("PRAGMA max_page_count = 1");
    const e = await failure(store.importJudgments(asBatches(makeJudgments(400, 5))));
    await store.close();
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    let code: number;
    let printed: string;
    try {
      code = reportError(e, false);
      printed = err.mock.calls.map((c) => String(c[0])).join("");
    } finally {
      err.mockRestore();
    }
    expect(code).toBe(74);
    expect(printed).toContain("KEEL_E_STORE");
    expect(printed).not.toContain("this is a bug in keel");
  });
});
