/**
 * Writes docs/cli.md from the CLI's own help text, so the reference never drifts from the
 * program (test/docs/cli-docs.test.ts fails when it is stale). Run: npm run docs:cli
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { buildProgram } from "../src/cli/main.js";
import { ERROR_CATALOGUE } from "../src/core/errors.js";

/** The full help a user sees, including text commands add before and after the option list. */
function helpOf(cmd: Command): string {
  let text = "";
  cmd.configureOutput({
    getOutHelpWidth: () => 100,
    getErrHelpWidth: () => 100,
    writeOut: (s) => {
      text += s;
    },
  });
  cmd.outputHelp();
  return text.trimEnd();
}

function walk(cmd: Command, path: string[], out: string[]): void {
  for (const sub of cmd.commands) {
    if (sub.name() === "help") continue;
    const full = [...path, sub.name()];
    out.push(`## keel ${full.join(" ")}\n\n\`\`\`text\n${helpOf(sub)}\n\`\`\`\n`);
    walk(sub, full, out);
  }
}

export function cliReference(): string {
  const program = buildProgram();
  const out = [
    "# CLI reference\n",
    "Generated from `keel --help` by `npm run docs:cli`; do not edit by hand.\n",
    "Every command that opens the feedback store takes `--db PATH|postgres://URL` (default `keel.db`,",
    "or the `KEEL_DB` environment variable). `--json` prints machine-readable output on stdout;",
    "progress and errors go to stderr. Exit codes: 0 success, 3 a safeguard stopped the run,",
    "64 usage, 65 bad input data, 66 missing input, 69 upstream service failed, 70 internal,",
    "74 store unavailable, 75 busy or timed out (try again), 77 not allowed, 78 bad configuration,",
    "130 interrupted (see docs/errors.md). Ctrl-C (or SIGTERM) stops a long command after its",
    "current step; a second Ctrl-C stops it at once (exit 130, 143 for SIGTERM).\n",
    `\`\`\`text\n${helpOf(program)}\n\`\`\`\n`,
  ];
  walk(program, [], out);
  return `${out.join("\n")}`;
}

export function errorReference(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, e]) => `| \`${code}\` | ${e.title} | ${e.exit} | ${e.http} |`,
  );
  return [
    "# Error catalogue",
    "",
    "Generated from `src/core/errors.ts` by `npm run docs:cli`; do not edit by hand.",
    "",
    "Every error keel raises on purpose has a code, a CLI exit code and an HTTP status. The message",
    "says what was wrong and where (`file:line: field`, an id) and, with `hint:`, what to do. With",
    '`--json`, errors are printed to stderr as `{"error": {"code", "message", "where"?, "hint"?}}`.',
    "An unexpected failure is reported as `KEEL_E_INTERNAL` (exit 70) with its message and a request",
    "for a bug report; with `KEEL_DEBUG=1` set, keel also prints its stack trace, and with any error",
    "the errors that caused it.",
    "",
    "| code | meaning | exit | HTTP |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const docs = join(dirname(fileURLToPath(import.meta.url)), "..", "docs");
  writeFileSync(join(docs, "cli.md"), cliReference());
  writeFileSync(join(docs, "errors.md"), errorReference());
  process.stdout.write(`wrote docs/cli.md and docs/errors.md\n`);
}
