/**
 * Every CLI command, in one explicit list (no auto-discovery). A command module exports a
 * `CommandModule` whose `register` adds its subcommand(s) to the program.
 *
 * Every run of `keel` defines all the commands, so the modules in commands/ only define options,
 * help text and option parsers; each action loads its implementation from actions/ with
 * `await import(...)` when it runs. That keeps `keel --version` and `keel import` from loading
 * the engine (onnxruntime-node), the server, the reports' charting library or the store's
 * drivers they do not use. test/cli/startup.test.ts checks what defining the commands loads.
 */
import type { Command } from "commander";
import { aggregateCommand } from "./commands/aggregate.js";
import { auditCommand } from "./commands/audit.js";
import { demoCommand } from "./commands/demo.js";
import { experimentCommand } from "./commands/experiment.js";
import { exportCommand } from "./commands/export.js";
import { generateCommand } from "./commands/generate.js";
import { importCommand } from "./commands/import.js";
import { initCommand } from "./commands/init.js";
import { launchCommand } from "./commands/launch.js";
import { ledgerCommand } from "./commands/ledger.js";
import { modelCommand } from "./commands/model.js";
import { projectCommand } from "./commands/project.js";
import { redteamCommand } from "./commands/redteam.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { serveModelCommand } from "./commands/serve-model.js";
import { serveRmCommand } from "./commands/serve-rm.js";
import { statsCommand } from "./commands/stats.js";
import { trainCommand } from "./commands/train.js";
import { usersCommand } from "./commands/users.js";
import { worldCommand } from "./commands/world.js";

export interface CommandModule {
  readonly name: string;
  register(program: Command): void;
}

export const COMMANDS: readonly CommandModule[] = [
  demoCommand,
  runCommand,
  experimentCommand,
  initCommand,
  importCommand,
  exportCommand,
  ledgerCommand,
  statsCommand,
  worldCommand,
  generateCommand,
  aggregateCommand,
  auditCommand,
  modelCommand,
  trainCommand,
  redteamCommand,
  serveCommand,
  serveModelCommand,
  serveRmCommand,
  launchCommand,
  usersCommand,
  projectCommand,
];
