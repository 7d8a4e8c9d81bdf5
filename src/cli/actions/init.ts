/** `keel init`'s action: open the store with `create`, which applies any pending migrations. */
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { isPostgresUrl, openStore } from "../../store/store.js";
import type { InitFlags } from "../commands/init.js";
import { printJson, printLine } from "../output.js";

/**
 * A new SQLite store's file, made empty and readable by its owner alone before SQLite opens it
 * (its -wal and -shm files take the same mode): it will hold the users' password hashes and the
 * server's secret that keeps gold items apart. Returns whether it made one.
 */
function ownerOnlyFile(target: string): boolean {
  if (target === ":memory:" || isPostgresUrl(target) || existsSync(target)) return false;
  try {
    closeSync(openSync(target, "wx", 0o600));
    return true;
  } catch {
    // Made by another meanwhile, or a directory that does not exist: opening says which.
    return false;
  }
}

export async function runInit(o: InitFlags): Promise<void> {
  const made = ownerOnlyFile(o.db);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(o.db, { create: true });
  } catch (e) {
    if (made) rmSync(o.db, { force: true });
    throw e;
  }
  try {
    const applied = store.appliedOnOpen;
    const head = await store.ledgerHead();
    // The migrations this run applied (none when the schema was up to date), as the text says.
    // A URL's ?schema= is taken out of the location: say which schema was set up.
    const schema = store.schema;
    const result = {
      db: store.location,
      dialect: store.dialectName,
      ...(schema !== undefined ? { schema } : {}),
      applied,
      head,
    };
    if (o.json) printJson(result);
    else {
      const where = schema !== undefined ? `, schema ${schema}` : "";
      printLine(`keel store ready at ${store.location}${where} (${store.dialectName})`);
      printLine(
        applied.length > 0 ? `applied migrations: ${applied.join(", ")}` : "schema up to date",
      );
      printLine(`ledger: ${head.seq} judgments`);
    }
  } finally {
    await store.close();
  }
}
