/** `keel export`: write the store's judgments in keel's or another tool's format. */
import type { Command } from "commander";
import { POLICIES, type Policy } from "../../defend/config.js";
import { EXPORT_FORMATS } from "../../io/exporters.js";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { OPENRLHF_VERSION } from "../../providers/ray/openrlhf.js";
import { addDbOption, addOutputOptions, oneOf } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface ExportFlags {
  db: string;
  format: string;
  out: string;
  table?: TableFormat;
  promptKey?: string;
  chosenKey?: string;
  rejectedKey?: string;
  marginKey?: string;
  clean?: boolean;
  margin?: boolean;
  audit?: string;
  policy?: Policy;
  config?: string;
  project?: string;
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
      .option("--margin-key <key>", "OpenRLHF: key for the margin (with --margin)")
      .option(
        "--clean",
        "trl/openrlhf: one row per comparison with the audit's cleaned preference and weight",
      )
      .option(
        "--margin",
        "--clean: add each row's margin, the log-odds of the audit's preference for the chosen response (p clipped to [0.01, 0.99]; for Llama 2-style margin losses)",
      )
      .option("--audit <file>", "--clean: the audit JSON to use (default: audit the store now)")
      .option(
        "--policy <policy>",
        "--clean without --audit: audit policy",
        oneOf("--policy", POLICIES),
      )
      .option("--config <file>", "--clean without --audit: audit config file")
      .option(
        "--project <id>",
        "only the judgments of this collection project's items (with --clean, the audit still covers the whole store)",
      )
      .addHelpText(
        "after",
        `\nFormats:\n${EXPORT_FORMATS.map((f) => `  ${f.key.padEnd(20)} ${f.description}`).join("\n")}\n\n` +
          "Examples:\n  keel export -f judgments -o all.jsonl\n  keel export -f trl -o prefs.jsonl\n" +
          "  keel export -f judgments -o helpful.jsonl --project helpful\n" +
          "  keel export -f openrlhf -o rm.jsonl --prompt-key input --chosen-key preferred --rejected-key dispreferred\n" +
          "  keel export -f trl -o clean.jsonl --clean --audit audit.json [--margin]\n\n" +
          `OpenRLHF ${OPENRLHF_VERSION} trains a reward model on the file with the same key names:\n` +
          "  deepspeed --module openrlhf.cli.train_rm --pretrain MODEL --dataset rm.jsonl \\\n" +
          "    --prompt_key prompt --chosen_key chosen --rejected_key rejected --save_path CKPT\n" +
          "  (keel launch openrlhf rm submits it to a Ray cluster; see docs/scale.md)",
      );
    addOutputOptions(addDbOption(cmd)).action(async (o: ExportFlags) => {
      const { runExport } = await import("../actions/export.js");
      await runExport(o);
    });
  },
};
