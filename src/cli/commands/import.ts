/** `keel import`: load judgments, labels, gold answers or raters into the store, all-or-nothing. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import type { TableFormat } from "../../io/formats/crowdkit.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { countLines } from "../../io/lines.js";
import { parseJudgmentsInWorker } from "../../io/parallel.js";
import {
  detectFormat,
  IMPORT_FORMATS,
  type ImportFormat,
  importFormat,
} from "../../io/registry.js";
import type { ImportReport, RecordImportReport } from "../../store/store.js";
import { addDbOption, addOutputOptions, oneOf, shortHash, withStore } from "../common.js";
import { printJson, printLine, warn } from "../output.js";
import { Progress } from "../progress.js";
import type { CommandModule } from "../registry.js";

interface ImportFlags {
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
      if (o.rejects && !o.skipInvalid)
        throw new KeelError("KEEL_E_USAGE", "--rejects needs --skip-invalid");
      const key = o.format === "auto" ? await detectFormat(file, o.table) : o.format;
      const format = importFormat(key);
      const total =
        !o.quiet && process.stderr.isTTY && file !== "-" ? await countLines(file) : undefined;
      const progress = new Progress({
        label: `import ${format.key}`,
        unit: "records",
        enabled: !o.quiet && process.stderr.isTTY,
        ...(total ? { total } : {}),
      });
      const rejects = o.rejects ? new JsonlWriter(o.rejects) : undefined;
      try {
        const report = await runImport(format, file, o, progress, rejects);
        progress.finish();
        await rejects?.commit();
        printReport(format, file, o, report, rejects?.count ?? 0);
      } catch (e) {
        progress.finish();
        await rejects?.abort();
        throw e;
      }
    });
  },
};

async function runImport(
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  progress: Progress,
  rejects: JsonlWriter | undefined,
): Promise<ImportReport | RecordImportReport> {
  const parseOpts = {
    ...(o.rater ? { raterId: o.rater } : {}),
    ...(o.table ? { table: o.table } : {}),
  };
  const storeOpts = {
    skipInvalid: o.skipInvalid ?? false,
    source: file,
    onProgress: (n: number) => progress.update(n),
    onReject: async (line: number, error: Error, raw: string) => {
      await rejects?.write({ line, error: error.message, raw });
    },
  };
  return withStore(o.db, async (store) => {
    switch (format.kind) {
      case "judgments":
        // Parse on a second core unless reading standard input (a worker cannot share it).
        return store.importJudgments(
          file !== "-" && o.parallel !== false
            ? parseJudgmentsInWorker(format.key, file, parseOpts)
            : format.parse(file, parseOpts),
          storeOpts,
        );
      case "refs":
        return store.importJudgments(format.parse(file, parseOpts), storeOpts);
      case "gold":
        return store.importGold(format.parse(file, parseOpts), storeOpts);
      case "raters":
        return store.importRaters(format.parse(file, parseOpts), storeOpts);
    }
  });
}

function printReport(
  format: ImportFormat,
  file: string,
  o: ImportFlags,
  report: ImportReport | RecordImportReport,
  rejectsWritten: number,
): void {
  if (o.json) {
    printJson({ file, format: format.key, ...report });
    return;
  }
  if ("appended" in report) {
    printLine(
      `imported ${report.appended} judgments from ${file} (${format.key}): ${report.read} records read, ` +
        `${report.newComparisons} new comparisons, ${report.duplicates} duplicates skipped, ${report.rejected} rejected`,
    );
    if (report.duplicates > 0) {
      for (const d of report.duplicateExamples.slice(0, 5)) {
        warn(
          `duplicate ${d.where.file ?? file}:${d.where.line}: rater ${JSON.stringify(d.rater_id)} already judged comparison ${JSON.stringify(d.comparison_id)}${d.conflicting ? " (with a different choice; the first judgment stands)" : ""}`,
        );
      }
      if (report.duplicates > 5)
        warn(
          `… and ${report.duplicates - 5} more duplicates (${report.conflictingDuplicates} conflicting)`,
        );
    }
    printLine(`ledger head: #${report.head.seq} ${shortHash(report.head.hash)}`);
  } else {
    const what = format.kind === "gold" ? "gold answers" : "raters";
    printLine(
      `imported ${report.written} ${what} from ${file}: ${report.read} read, ${report.unchanged} unchanged, ${report.rejected} rejected`,
    );
  }
  if (rejectsWritten > 0 && o.rejects)
    printLine(`rejected lines and reasons written to ${o.rejects}`);
}
