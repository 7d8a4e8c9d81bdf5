/** `keel project create`: a collection project with its settings, items and members. */

import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { Comparison } from "../../core/types.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../../io/jsonl.js";
import { ItemIn, ProjectCreateIn } from "../../server/routes/wire.js";
import {
  addItems,
  addMembers,
  collectionDb,
  createProject,
  getUserByLogin,
  type NewItem,
} from "../../store/collection/index.js";
import { addDbOption, addOutputOptions, withStore } from "../common.js";
import { printJson, printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

async function readItems(path: string, kind: "task" | "quiz"): Promise<NewItem[]> {
  const out: NewItem[] = [];
  const schema = ItemIn.omit({ kind: true }).extend({ kind: z.enum(["task", "quiz"]).optional() });
  for await (const { record } of strictRecords(parseJsonlBatches(path, validateWith(schema)))) {
    const comparison: Comparison = {
      comparison_id: record.comparison_id,
      prompt: record.prompt,
      response_a: record.response_a,
      response_b: record.response_b,
      ...(record.gold ? { gold: record.gold } : {}),
    };
    out.push({ comparison, kind: record.kind ?? kind, batch: record.batch });
  }
  return out;
}

function num(flag: string) {
  return (v: string): number => {
    const n = Number(v);
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
      .option("--quiz <file>", "onboarding quiz JSONL (same fields; gold required)")
      .option("--overlap <n>", "raters per comparison", num("--overlap"))
      .option("--gold-rate <p>", "share of served tasks that are gold items", num("--gold-rate"))
      .option(
        "--lease-seconds <n>",
        "how long a served task stays reserved",
        num("--lease-seconds"),
      )
      .option("--quiz-pass-rate <p>", "share of quiz items to get right", num("--quiz-pass-rate"))
      .option(
        "--pause-gold-accuracy <p>",
        "pause raters whose gold accuracy falls below this",
        num("--pause-gold-accuracy"),
      )
      .option(
        "--pause-min-gold <n>",
        "…once they have judged this many gold items",
        num("--pause-min-gold"),
      )
      .option("--seed <seed>", "seed for gold mixing and quiz order (default: the project id)")
      .option("--member <login>", "add this user (repeatable)", (v: string, p: string[] = []) => [
        ...p,
        v,
      ]);
    addOutputOptions(addDbOption(create)).action(
      async (
        id: string,
        o: {
          db: string;
          name: string;
          guidelines?: string;
          items?: string;
          quiz?: string;
          overlap?: number;
          goldRate?: number;
          leaseSeconds?: number;
          quizPassRate?: number;
          pauseGoldAccuracy?: number;
          pauseMinGold?: number;
          seed?: string;
          member?: string[];
          json?: boolean;
        },
      ) => {
        const raw = {
          project_id: id,
          name: o.name,
          ...(o.guidelines ? { guidelines: await readFile(o.guidelines, "utf8") } : {}),
          ...(o.overlap !== undefined ? { overlap: o.overlap } : {}),
          ...(o.goldRate !== undefined ? { gold_rate: o.goldRate } : {}),
          ...(o.leaseSeconds !== undefined ? { lease_seconds: o.leaseSeconds } : {}),
          ...(o.quizPassRate !== undefined ? { quiz_pass_rate: o.quizPassRate } : {}),
          ...(o.pauseGoldAccuracy !== undefined
            ? { pause_gold_accuracy: o.pauseGoldAccuracy }
            : {}),
          ...(o.pauseMinGold !== undefined ? { pause_min_gold: o.pauseMinGold } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
        };
        const parsed = ProjectCreateIn.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw new KeelError("KEEL_E_USAGE", `${issue.path.join(".")}: ${issue.message}`);
        }
        const items = [
          ...(o.items ? await readItems(o.items, "task") : []),
          ...(o.quiz ? await readItems(o.quiz, "quiz") : []),
        ];
        const out = await withStore(
          o.db,
          async (store) => {
            const db = collectionDb(store);
            const members: string[] = [];
            for (const login of o.member ?? []) {
              const u = await getUserByLogin(db, login);
              if (!u)
                throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(login)}`, {
                  hint: "create it with keel users add",
                });
              members.push(u.user_id);
            }
            const p = await createProject(db, parsed.data, new Date());
            const r = items.length > 0 ? await addItems(db, id, items) : { added: 0, existing: 0 };
            const added = members.length > 0 ? await addMembers(db, id, members, new Date()) : 0;
            return { project_id: p.project_id, items: r.added, members: added };
          },
          { create: true },
        );
        if (o.json) printJson(out);
        else
          printLine(
            `created project ${out.project_id}: ${out.items} items, ${out.members} members`,
          );
      },
    );
  },
};
