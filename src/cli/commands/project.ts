/**
 * `keel project create|add|set|list|show`: collection projects with their settings, items and
 * members, and how far each has come.
 */

import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { addDbOption, addOutputOptions, integerArg, numberArg, seedArg } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface ProjectCreateFlags extends ProjectSettingsFlags {
  db: string;
  name: string;
  guidelines?: string;
  items?: string;
  quiz?: string;
  seed?: string;
  member?: string[];
  json?: boolean;
}

export interface ProjectAddFlags {
  db: string;
  items?: string;
  quiz?: string;
  member?: string[];
  json?: boolean;
}

/** The settings `create` takes and `set` changes (flags as commander names them). */
export interface ProjectSettingsFlags {
  overlap?: number;
  goldRate?: number;
  leaseSeconds?: number;
  quizPassRate?: number;
  quizMaxAttempts?: number;
  pauseGoldAccuracy?: number;
  pauseMinGold?: number;
}

export interface ProjectSetFlags extends ProjectSettingsFlags {
  db: string;
  name?: string;
  guidelines?: string;
  json?: boolean;
}

export interface ProjectShowFlags {
  db: string;
  json?: boolean;
  quiet?: boolean;
}

const repeat = (v: string, p: string[] = []) => [...p, v];

/**
 * What `create` gives a setting it is not given: DEFAULT_SETTINGS in
 * src/store/collection/projects.ts, restated for the help (defining the commands loads no store
 * code; test/cli/help-consistency.test.ts checks the two agree). `set` keeps what a project has.
 */
export const CREATE_DEFAULTS: Readonly<Required<ProjectSettingsFlags>> = {
  overlap: 3,
  goldRate: 0.1,
  leaseSeconds: 600,
  quizPassRate: 0.8,
  quizMaxAttempts: 3,
  pauseGoldAccuracy: 0.5,
  pauseMinGold: 5,
};

function addSettingsOptions(cmd: Command, defaults?: typeof CREATE_DEFAULTS): Command {
  const d = (key: keyof typeof CREATE_DEFAULTS) => (defaults ? ` (default: ${defaults[key]})` : "");
  return cmd
    .option("--overlap <n>", `raters per comparison${d("overlap")}`, integerArg("--overlap"))
    .option(
      "--gold-rate <p>",
      `share of served tasks that are gold items${d("goldRate")}`,
      num("--gold-rate"),
    )
    .option(
      "--lease-seconds <n>",
      `how long a served task stays reserved${d("leaseSeconds")}`,
      integerArg("--lease-seconds"),
    )
    .option(
      "--quiz-pass-rate <p>",
      `share of quiz items to get right${d("quizPassRate")}`,
      num("--quiz-pass-rate"),
    )
    .option(
      "--quiz-max-attempts <n>",
      `quiz attempts before a rater is paused for review${d("quizMaxAttempts")}`,
      integerArg("--quiz-max-attempts"),
    )
    .option(
      "--pause-gold-accuracy <p>",
      `pause raters whose gold accuracy falls below this${d("pauseGoldAccuracy")}`,
      num("--pause-gold-accuracy"),
    )
    .option(
      "--pause-min-gold <n>",
      `…once they have judged this many gold items${d("pauseMinGold")}`,
      integerArg("--pause-min-gold"),
    );
}

/** A share or a rate; its range, and the counts', are the API's (checked by the action). */
function num(flag: string) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n))
      throw new KeelError("KEEL_E_USAGE", `${flag} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
}

export const projectCommand: CommandModule = {
  name: "project",
  register(program: Command) {
    const project = program.command("project").description("manage collection projects");
    const create = project
      .command("create")
      .argument("<id>", "project id (letters, digits, _ . : -)")
      .description("create a project, optionally with items and members")
      .requiredOption("--name <name>", "display name")
      .option(
        "--guidelines <file>",
        "guidelines shown to raters before they start (Markdown or text)",
      )
      .option(
        "--items <file>",
        "comparisons JSONL: comparison_id, prompt, response_a, response_b, gold?, batch?",
      )
      .option("--quiz <file>", "onboarding quiz JSONL (same fields; gold required)");
    addSettingsOptions(create, CREATE_DEFAULTS)
      .option(
        "--seed <seed>",
        "seed for gold mixing and quiz order (default: the project id)",
        seedArg,
      )
      .option("--member <login>", "add this user (repeatable)", repeat);
    addOutputOptions(addDbOption(create)).action(async (id: string, o: ProjectCreateFlags) => {
      const { runCreate } = await import("../actions/project.js");
      await runCreate(id, o);
    });
    const add = project
      .command("add")
      .argument("<id>", "the project")
      .description(
        "add items (appended after the project's last item) and members to a project; items and members it has are kept, not doubled",
      )
      .option(
        "--items <file>",
        "comparisons JSONL: comparison_id, prompt, response_a, response_b, gold?, batch?",
      )
      .option("--quiz <file>", "onboarding quiz JSONL (same fields; gold required)")
      .option("--member <login>", "add this user (repeatable)", repeat);
    addOutputOptions(addDbOption(add)).action(async (id: string, o: ProjectAddFlags) => {
      const { runAdd } = await import("../actions/project.js");
      await runAdd(id, o);
    });
    const set = project
      .command("set")
      .argument("<id>", "the project")
      .description(
        "change a project's name, guidelines or settings (a running keel serve applies them within 5 s)",
      )
      .option("--name <name>", "display name")
      .option("--guidelines <file>", "guidelines shown to raters (Markdown or text)");
    addOutputOptions(addDbOption(addSettingsOptions(set))).action(
      async (id: string, o: ProjectSetFlags) => {
        const { runSet } = await import("../actions/project.js");
        await runSet(id, o);
      },
    );
    const list = project
      .command("list")
      .description("list projects with their items, completion, judgments and members");
    addOutputOptions(addDbOption(list)).action(
      async (o: { db: string; json?: boolean; quiet?: boolean }) => {
        const { runList } = await import("../actions/project.js");
        await runList(o);
      },
    );
    const show = project
      .command("show")
      .argument("<id>", "the project")
      .description(
        "a project's settings, items, completion and members (status, guidelines, quiz, judgments)",
      );
    addOutputOptions(addDbOption(show)).action(async (id: string, o: ProjectShowFlags) => {
      const { runShow } = await import("../actions/project.js");
      await runShow(id, o);
    });
  },
};
