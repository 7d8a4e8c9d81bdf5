/**
 * Mutated files imported into a real store, as `keel import` does it (`importRecords`, parsing
 * on a worker thread or in this one): an import either appends what it reports, or is refused
 * with a catalogue error naming the file and leaves the store as it was — same ledger rows, same
 * verified chain. A few cases go through the CLI itself (its import-writer worker included).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importRecords } from "../../src/cli/actions/import.js";
import type { ImportFlags } from "../../src/cli/commands/import.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir, verifiedLedgerRows } from "../helpers/stores.js";
import { mutate, rng } from "./mutate.js";
import { CASES, caseFile, expectRefusal, SEED } from "./refusal.js";
import { IMPORT_SEEDS } from "./seeds.js";

const dir = tempDir("keel-fuzz-store-");

async function freshStore(name: string): Promise<string> {
  const db = join(dir, `${name}.db`);
  const store = await openStore(db, { create: true });
  await store.close();
  const seed = caseFile(dir, `${name}-seed.jsonl`, Buffer.from(IMPORT_SEEDS[0]!.text));
  await importRecords(
    (await import("../../src/io/registry.js")).importFormat("judgments"),
    seed,
    { db, format: "judgments", parallel: false },
    { update: () => undefined },
  );
  return db;
}

describe("imports of mutated files into a store", () => {
  it("append what they report, or leave the store unchanged", async () => {
    const { importFormat } = await import("../../src/io/registry.js");
    const db = await freshStore("lib");
    let rows = await verifiedLedgerRows(db);
    const cases = Math.max(30, Math.floor(CASES / 2));
    for (let i = 0; i < cases; i++) {
      const r = rng(SEED + 50_000 + i);
      const s = i % IMPORT_SEEDS.length;
      const seed = IMPORT_SEEDS[s]!;
      const { name, bytes } = mutate(
        Buffer.from(seed.text),
        r,
        seed.ext === "csv" ? "csv" : "jsonl",
      );
      const path = caseFile(dir, `lib-${i}.${seed.ext}`, bytes);
      const flags: ImportFlags = { db, format: seed.format, parallel: i % 3 !== 0 };
      const label = `case ${i} (${seed.format}, ${name}) ${path}`;
      let appended = 0;
      try {
        const { report } = await importRecords(importFormat(seed.format), path, flags, {
          update: () => undefined,
        });
        appended = "appended" in report ? report.appended : 0;
      } catch (e) {
        expectRefusal(e, label, path);
      }
      const now = await verifiedLedgerRows(db);
      expect(now, label).toBe(rows + appended);
      rows = now;
    }
  });

  it("through the CLI: exit 0, or a catalogue exit code and the store unchanged", async () => {
    const db = await freshStore("cli");
    let rows = await verifiedLedgerRows(db);
    for (let i = 0; i < 12; i++) {
      const r = rng(SEED + 60_000 + i);
      const seed = IMPORT_SEEDS[i % IMPORT_SEEDS.length]!;
      const { name, bytes } = mutate(
        Buffer.from(seed.text),
        r,
        seed.ext === "csv" ? "csv" : "jsonl",
      );
      const path = caseFile(dir, `cli-${i}.${seed.ext}`, bytes);
      const label = `cli case ${i} (${seed.format}, ${name}) ${path}`;
      const res = await runCli(["import", path, "--db", db, "--json", "-q"]);
      if (res.code === 0) {
        const out = JSON.parse(res.stdout) as { appended?: number };
        rows += out.appended ?? 0;
      } else {
        // An internal error exits 70 with KEEL_E_INTERNAL in its message.
        expect(res.stderr, label).not.toContain("KEEL_E_INTERNAL");
        expect(res.stderr, label).toMatch(/KEEL_E_[A-Z_]+/);
        expect(res.stderr, label).toContain(path);
      }
      expect(await verifiedLedgerRows(db), label).toBe(rows);
    }
  });
});
