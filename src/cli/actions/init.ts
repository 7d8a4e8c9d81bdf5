/** `keel init`'s action: open the store with `create`, which applies any pending migrations. */
import { openStore } from "../../store/store.js";
import type { InitFlags } from "../commands/init.js";
import { printJson, printLine } from "../output.js";

export async function runInit(o: InitFlags): Promise<void> {
  const store = await openStore(o.db, { create: true });
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
