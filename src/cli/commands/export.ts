/** `keel export`: write the store's judgments in keel's or another tool's format. */
import type { Command } from "commander";
import { EXPORT_FORMATS, exportFormat } from "../../io/exporters.js";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { addDbOption, addOutputOptions, oneOf, withStore } from "../common.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import type { CommandModule } from "../registry.js";

interface ExportFlags {
  db: string;
  format: string;
  out: string;
  table?: TableFormat;
  promptKey?: string;
  chosenKey?: string;
  rejectedKey?: string;
  marginKey?: string;
  json?: boolean;
  quiet?: boolean;
}

export const exportCommand: CommandModule = {
  name: "export",
  register(program: Command) {
    const cmd = program
      .command("export")
      .description("export the store's judgments (in ledger order) to a file")
      .requiredOption(
        "-f, --format <format>",
        `output format: ${EXPORT_FORMATS.map((f) => f.key).join(", ")}`,
      )
      .requiredOption("-o, --out <file>", "output file (- for standard output); written atomically")
      .option(
        "--table <csv|jsonl>",
        "table encoding for crowd-kit formats (default csv)",
        oneOf("--table", ["csv", "jsonl"] as const),
      )
      .option("--prompt-key <key>", "OpenRLHF: key for the prompt (its --prompt_key)")
      .option("--chosen-key <key>", "OpenRLHF: key for the chosen response (its --chosen_key)")
      .option(
        "--rejected-key <key>",
        "OpenRLHF: key for the rejected response (its --rejected_key)",
      )
      .option("--margin-key <key>", "OpenRLHF: key for the margin")
      .addHelpText(
        "after",
        `\nFormats:\n${EXPORT_FORMATS.map((f) => `  ${f.key.padEnd(20)} ${f.description}`).join("\n")}\n\n` +
          "Examples:\n  keel export -f judgments -o all.jsonl\n  keel export -f trl -o prefs.jsonl\n" +
          "  keel export -f openrlhf -o rm.jsonl --prompt-key input --chosen-key preferred --rejected-key dispreferred",
      );
    addOutputOptions(addDbOption(cmd)).action(async (o: ExportFlags) => {
      const format = exportFormat(o.format);
      const keys = {
        ...(o.promptKey ? { prompt: o.promptKey } : {}),
        ...(o.chosenKey ? { chosen: o.chosenKey } : {}),
        ...(o.rejectedKey ? { rejected: o.rejectedKey } : {}),
        ...(o.marginKey ? { margin: o.marginKey } : {}),
      };
      const exporter = format.open(o.out, {
        ...(o.table ? { table: o.table } : {}),
        openrlhfKeys: keys,
      });
      const result = await withStore(o.db, async (store) => {
        const progress = new Progress({
          label: `export ${format.key}`,
          unit: "judgments",
          total: await store.countJudgments(),
          enabled: !o.quiet && process.stderr.isTTY && o.out !== "-",
        });
        let n = 0;
        try {
          for await (const j of store.judgments()) {
            await exporter.write(j);
            progress.update(++n);
          }
          await exporter.commit();
        } catch (e) {
          await exporter.abort();
          throw e;
        }
        progress.finish();
        return {
          format: format.key,
          out: o.out,
          judgments: n,
          written: exporter.written,
          skipped: exporter.skipped,
        };
      });
      if (o.out === "-") {
        // stdout carries the data; the summary goes to stderr.
        if (!o.quiet) process.stderr.write(`${JSON.stringify(result)}\n`);
      } else if (o.json) printJson(result);
      else {
        printLine(
          `wrote ${result.written} rows to ${o.out} (${format.key}) from ${result.judgments} judgments` +
            (result.skipped > 0
              ? `; ${result.skipped} skipped (ties have no chosen/rejected)`
              : ""),
        );
      }
    });
  },
};
