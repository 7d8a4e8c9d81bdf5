/**
 * Every CLI command, in one explicit list (no auto-discovery). A command module exports a
 * `CommandModule` whose `register` adds its subcommand(s) to the program.
 */
import type { Command } from "commander";

export interface CommandModule {
  readonly name: string;
  register(program: Command): void;
}

export const COMMANDS: readonly CommandModule[] = [];
