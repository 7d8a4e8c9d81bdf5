/**
 * The `keel` command line. Commands are registered explicitly from `registry.ts`; each one is
 * thin: parse and validate its options, call the library, print the result.
 */
import { Command, CommanderError } from "commander";
import { KEEL_VERSION } from "../core/version.js";
import { reportError } from "./output.js";
import { COMMANDS } from "./registry.js";

export function buildProgram(): Command {
  const program = new Command("keel")
    .description(
      "RLHF whose human-feedback stage resists poisoning: collect comparisons, audit raters, " +
        "aggregate, train reward models and policies, red-team, report.",
    )
    .version(KEEL_VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: true })
    .exitOverride();
  for (const cmd of COMMANDS) cmd.register(program);
  program.commands.forEach(applyExitOverride);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.commands.forEach(applyExitOverride);
}

/** Runs the CLI and returns the exit code (the bin sets it; tests call this directly). */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests end through here with exit code 0.
      if (e.exitCode === 0) return 0;
      return 64;
    }
    return reportError(e, json);
  }
}
