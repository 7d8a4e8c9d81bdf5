/**
 * The `keel` command line. Commands are registered explicitly from `registry.ts`; each one is
 * thin: parse and validate its options, call the library, print the result.
 */
import { Command, CommanderError } from "commander";
import { KeelError } from "../core/errors.js";
import { KEEL_VERSION } from "../core/version.js";
import { reportError } from "./output.js";
import { COMMANDS } from "./registry.js";

/**
 * The program with every command. With `json`, commander's own usage errors are not printed as
 * text: `main` reports them as JSON, as it reports keel's (set before the commands are
 * registered, which inherit it).
 */
export function buildProgram(opts: { json?: boolean } = {}): Command {
  const program = new Command("keel")
    .description(
      "RLHF whose human-feedback stage resists poisoning: collect comparisons, audit raters, " +
        "aggregate, train reward models and policies, red-team, report.",
    )
    .version(KEEL_VERSION, "-V, --version")
    .addHelpText(
      "after",
      "\nNumbers in options are decimal: 12, -0.5, .5, 1e-3 (not 0x10, 1_000, blanks or Infinity);\n" +
        "whole-number options take integers within ±(2^53 − 1).",
    )
    .showHelpAfterError(opts.json ? false : "(run with --help for usage)")
    .configureHelp({ sortSubcommands: true })
    .exitOverride();
  if (opts.json) program.configureOutput({ outputError: () => undefined });
  for (const cmd of COMMANDS) cmd.register(program);
  program.commands.forEach(applyExitOverride);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.commands.forEach(applyExitOverride);
}

/** A usage error commander found, as keel reports its own (for --json). */
function usageError(e: CommanderError): KeelError {
  // A group run without its subcommand has printed its help; commander's message is a placeholder.
  const message =
    e.code === "commander.help" ? "missing subcommand" : e.message.replace(/^error: /, "");
  return new KeelError("KEEL_E_USAGE", message.trim(), { hint: "run with --help for usage" });
}

/** Runs the CLI and returns the exit code (the bin sets it; tests call this directly). */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const program = buildProgram({ json });
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests end through here with exit code 0.
      if (e.exitCode === 0) return 0;
      return json ? reportError(usageError(e), true) : 64;
    }
    return reportError(e, json);
  }
}
