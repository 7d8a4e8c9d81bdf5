/** `keel ledger verify|head`: prove the judgments were not altered after the fact. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { addDbOption, addOutputOptions, withStore } from "../common.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import type { CommandModule } from "../registry.js";

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
        "also require the chain to end at this hash (anchored elsewhere)",
      );
    addOutputOptions(addDbOption(verify)).action(
      async (o: { db: string; expectHead?: string; json?: boolean; quiet?: boolean }) => {
        const report = await withStore(o.db, async (store) => {
          const progress = new Progress({
            label: "verify",
            unit: "judgments",
            total: await store.countJudgments(),
            enabled: !o.quiet && process.stderr.isTTY,
          });
          const r = await store.verifyLedger({
            ...(o.expectHead ? { expectHead: o.expectHead.toLowerCase() } : {}),
            onProgress: (n) => progress.update(n),
          });
          progress.finish();
          return r;
        });
        if (o.json) printJson(report);
        if (!report.ok) {
          const b = report.firstBreak!;
          throw new KeelError("KEEL_E_LEDGER_BROKEN", `${b.kind} at row ${b.seq}: ${b.message}`, {
            hint: "the store's feedback was altered outside keel; restore it from a backup or investigate before training on it",
          });
        }
        if (!o.json) {
          printLine(`ledger OK: ${report.rows} judgments and ${report.texts} texts verified`);
          printLine(`head: #${report.head.seq} ${report.head.hash}`);
        }
      },
    );

    const head = ledger
      .command("head")
      .description("print the ledger head (sequence number and hash) to anchor elsewhere");
    addOutputOptions(addDbOption(head)).action(async (o: { db: string; json?: boolean }) => {
      const h = await withStore(o.db, (store) => store.ledgerHead());
      if (o.json) printJson(h);
      else printLine(`${h.seq} ${h.hash}`);
    });
  },
};
