/** `keel ledger verify|head`: prove the judgments were not altered after the fact. */
import type { Command } from "commander";
import { addDbOption, addOutputOptions } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface LedgerFlags {
  db: string;
  json?: boolean;
}

export interface VerifyFlags extends LedgerFlags {
  expectHead?: string;
  quiet?: boolean;
}

export const ledgerCommand: CommandModule = {
  name: "ledger",
  register(program: Command) {
    const ledger = program
      .command("ledger")
      .description("inspect and verify the hash-chained judgment ledger")
      .addHelpText(
        "after",
        "\nEvery judgment row carries the previous row's hash and its own SHA-256 over that hash and the\n" +
          "judgment (including digests of the prompt and responses). `verify` walks the chain and names the\n" +
          "first edited, deleted, inserted or reordered row, or edited text. Publish `keel ledger head`\n" +
          "somewhere outside the database and pass it to `verify --expect-head` to catch a wholesale rewrite.",
      );

    const verify = ledger
      .command("verify")
      .description("walk the chain; exit non-zero and name the first broken link if any")
      .option(
        "--expect-head <hash>",
        "also require the chain to pass through this head hash (anchored elsewhere earlier)",
      );
    addOutputOptions(addDbOption(verify)).action(async (o: VerifyFlags) => {
      const { runVerify } = await import("../actions/ledger.js");
      await runVerify(o);
    });

    const head = ledger
      .command("head")
      .description("print the ledger head (sequence number and hash) to anchor elsewhere");
    addOutputOptions(addDbOption(head)).action(async (o: LedgerFlags) => {
      const { runHead } = await import("../actions/ledger.js");
      await runHead(o);
    });
  },
};
