/** `keel init`: create (or migrate) a feedback store. */

import { addDbOption, addOutputOptions } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface InitFlags {
  db: string;
  json?: boolean;
}

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
    addOutputOptions(addDbOption(cmd)).action(async (o: InitFlags) => {
      const { runInit } = await import("../actions/init.js");
      await runInit(o);
    });
  },
};
