/** `keel export`: write the store's judgments in keel's or another tool's format. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { POLICIES, type Policy } from "../../defend/config.js";
import { EXPORT_FORMATS, exportFormat } from "../../io/exporters.js";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { OPENRLHF_VERSION } from "../../providers/ray/openrlhf.js";
import { addDbOption, addOutputOptions, oneOf, withStore } from "../common.js";
import { printJson, printLine } from "../output.js";
import { Progress } from "../progress.js";
import type { CommandModule } from "../registry.js";
import { cleanPlanFor } from "./audit.js";

interface ExportFlags {
  db: string;
  format: string;
  out: string;
  table?: TableFormat;
  promptKey?: string;
  chosenKey?: string;
  rejectedKey?: string;
  marginKey?: string;
  clean?: boolean;
  audit?: string;
  policy?: Policy;
  config?: string;
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
      .option(
        "--clean",
        "trl/openrlhf: one row per comparison with the audit's cleaned preference and weight",
      )
      .option("--audit <file>", "--clean: the audit JSON to use (default: audit the store now)")
      .option(
        "--policy <policy>",
        "--clean without --audit: audit policy",
        oneOf("--policy", POLICIES),
      )
      .option("--config <file>", "--clean without --audit: audit config file")
      .addHelpText(
        "after",
        `\nFormats:\n${EXPORT_FORMATS.map((f) => `  ${f.key.padEnd(20)} ${f.description}`).join("\n")}\n\n` +
          "Examples:\n  keel export -f judgments -o all.jsonl\n  keel export -f trl -o prefs.jsonl\n" +
          "  keel export -f openrlhf -o rm.jsonl --prompt-key input --chosen-key preferred --rejected-key dispreferred\n" +
          "  keel export -f trl -o clean.jsonl --clean --audit audit.json\n\n" +
          `OpenRLHF ${OPENRLHF_VERSION} trains a reward model on the file with the same key names:\n` +
          "  deepspeed --module openrlhf.cli.train_rm --pretrain MODEL --dataset rm.jsonl \\\n" +
          "    --prompt_key prompt --chosen_key chosen --rejected_key rejected --save_path CKPT\n" +
          "  (keel launch openrlhf rm submits it to a Ray cluster; see docs/scale.md)",
      );
    addOutputOptions(addDbOption(cmd)).action(async (o: ExportFlags) => {
      const format = exportFormat(o.format);
      const keys = {
        ...(o.promptKey ? { prompt: o.promptKey } : {}),
        ...(o.chosenKey ? { chosen: o.chosenKey } : {}),
        ...(o.rejectedKey ? { rejected: o.rejectedKey } : {}),
        ...(o.marginKey ? { margin: o.marginKey } : {}),
      };
      if (o.clean && format.key !== "trl" && format.key !== "openrlhf") {
        throw new KeelError(
          "KEEL_E_USAGE",
          "--clean writes preference rows: use -f trl or -f openrlhf",
        );
      }
      const plan = o.clean ? await cleanPlanFor(o) : undefined;
      const exporter = format.open(o.out, {
        ...(o.table ? { table: o.table } : {}),
        openrlhfKeys: keys,
        ...(plan
          ? {
              pairExtras: (j) => {
                const weight = plan.weightOf(j);
                return weight !== undefined ? { weight } : undefined;
              },
            }
          : {}),
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
            progress.update(++n);
            if (plan) {
              const chosen = plan.choose(j);
              if (chosen) await exporter.write(chosen);
              continue;
            }
            await exporter.write(j);
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
          `wrote ${result.written} rows to ${o.out} (${format.key}${o.clean ? ", cleaned: one row per comparison" : ""}) from ${result.judgments} judgments` +
            (result.skipped > 0
              ? `; ${result.skipped} skipped (ties have no chosen/rejected)`
              : ""),
        );
      }
    });
  },
};
