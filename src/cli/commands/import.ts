/** `keel import`: load judgments, labels, gold answers or raters into the store, all-or-nothing. */
import type { Command } from "commander";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { IMPORT_FORMATS } from "../../io/registry.js";
import { addDbOption, addOutputOptions, oneOf } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface ImportFlags {
  db: string;
  format: string;
  rater?: string;
  table?: TableFormat;
  skipInvalid?: boolean;
  rejects?: string;
  parallel?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export const importCommand: CommandModule = {
  name: "import",
  register(program: Command) {
    const cmd = program
      .command("import")
      .argument("<file>", "file to import (- for standard input)")
      .description(
        "import judgments, crowd labels, gold answers or raters into the store (all-or-nothing)",
      )
      .option(
        "-f, --format <format>",
        `input format: auto, ${IMPORT_FORMATS.map((f) => f.key).join(", ")}`,
        "auto",
      )
      .option("--rater <id>", "rater id for preference datasets that name none (TRL, HH-RLHF)")
      .option(
        "--table <csv|jsonl>",
        "table encoding for crowd-kit and gold files (default: by extension)",
        oneOf("--table", ["csv", "jsonl"] as const),
      )
      .option(
        "--skip-invalid",
        "import the valid records and set the invalid ones aside instead of failing",
      )
      .option(
        "--rejects <file>",
        "with --skip-invalid: write rejected lines and their reasons here (JSONL)",
      )
      .option("--no-parallel", "parse in the main thread instead of a worker thread")
      .addHelpText(
        "after",
        `\nFormats:\n${IMPORT_FORMATS.map((f) => `  ${f.key.padEnd(20)} ${f.description}`).join("\n")}\n\n` +
          "An import is one transaction: the first invalid line stops it with file:line: field: reason and\n" +
          "nothing is written. Duplicate judgments (same rater, same comparison) are reported, not doubled.\n\n" +
          "Examples:\n  keel import judgments.jsonl\n  keel import prefs.jsonl --format trl --rater annotators-v1\n" +
          "  keel import labels.csv --format crowd-kit --skip-invalid --rejects rejected.jsonl",
      );
    addOutputOptions(addDbOption(cmd)).action(async (file: string, o: ImportFlags) => {
      const { runImport } = await import("../actions/import.js");
      await runImport(file, o);
    });
  },
};
