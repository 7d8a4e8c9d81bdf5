/** `keel project create`'s action: validate the settings, read the items, write it all. */
import { readFile } from "node:fs/promises";
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
import type { ProjectCreateFlags } from "../commands/project.js";
import { printJson, printLine } from "../output.js";
import { withStore } from "./with-store.js";

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

export async function runCreate(id: string, o: ProjectCreateFlags): Promise<void> {
  const raw = {
    project_id: id,
    name: o.name,
    ...(o.guidelines ? { guidelines: await readFile(o.guidelines, "utf8") } : {}),
    ...(o.overlap !== undefined ? { overlap: o.overlap } : {}),
    ...(o.goldRate !== undefined ? { gold_rate: o.goldRate } : {}),
    ...(o.leaseSeconds !== undefined ? { lease_seconds: o.leaseSeconds } : {}),
    ...(o.quizPassRate !== undefined ? { quiz_pass_rate: o.quizPassRate } : {}),
    ...(o.pauseGoldAccuracy !== undefined ? { pause_gold_accuracy: o.pauseGoldAccuracy } : {}),
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
  else printLine(`created project ${out.project_id}: ${out.items} items, ${out.members} members`);
}
