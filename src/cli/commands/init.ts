/** `keel init`: create (or migrate) a feedback store. */

import { openStore } from "../../store/store.js";
import { addDbOption, addOutputOptions } from "../common.js";
import { printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

export const initCommand: CommandModule = {
  name: "init",
  register(program) {
    const cmd = program
      .command("init")
      .description(
        "create a feedback store (SQLite file by default) or bring an existing one up to date",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  keel init                          # ./keel.db\n  keel init --db postgres://localhost/keel",
      );
    addOutputOptions(addDbOption(cmd)).action(async (o: { db: string; json?: boolean }) => {
      const store = await openStore(o.db, { create: true });
      try {
        const applied = store.appliedOnOpen;
        const head = await store.ledgerHead();
        const result = { db: store.location, dialect: store.dialectName, head };
        if (o.json) printJson(result);
        else {
          printLine(`keel store ready at ${store.location} (${store.dialectName})`);
          printLine(
            applied.length > 0 ? `applied migrations: ${applied.join(", ")}` : "schema up to date",
          );
          printLine(`ledger: ${head.seq} judgments`);
        }
      } finally {
        await store.close();
      }
    });
  },
};
