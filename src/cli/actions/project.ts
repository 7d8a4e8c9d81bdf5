/**
 * `keel project`'s actions: create (validate the settings, read the items, write it all), add
 * items and members to a project, change its settings, list projects, show one project's
 * settings and progress.
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { readUtf8File } from "../../core/files.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import { percentOf } from "../../core/percent.js";
import { printable } from "../../core/printable.js";
import type { Comparison } from "../../core/types.js";
import { parseJsonlBatches, strictRecords, validateWith } from "../../io/jsonl.js";
import { ItemIn, ProjectCreateIn, ProjectSettingsIn } from "../../server/routes/wire.js";
import {
  addItems,
  addMembers,
  type CollectionDb,
  collectionDb,
  createProject,
  getProject,
  getUserByLogin,
  judgedCounts,
  judgmentsPerRater,
  listItems,
  listMembers,
  listProjects,
  type NewItem,
  type Project,
  updateProject,
} from "../../store/collection/index.js";
import type {
  ProjectAddFlags,
  ProjectCreateFlags,
  ProjectSetFlags,
  ProjectSettingsFlags,
  ProjectShowFlags,
} from "../commands/project.js";
import { clip, formatTable, printJson, printLine } from "../output.js";
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

/** The users the logins name; an unknown login is an error before anything is written. */
async function userIds(db: CollectionDb, logins: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  // A login given twice is one member: counted twice, it would read as "already there".
  for (const login of new Set(logins)) {
    const u = await getUserByLogin(db, login);
    if (!u)
      throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(login)}`, {
        hint: "create it with keel users add",
      });
    ids.push(u.user_id);
  }
  return ids;
}

async function requireProject(db: CollectionDb, id: string): Promise<Project> {
  const p = await getProject(db, id);
  if (!p)
    throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(id)}`, {
      hint: "keel project list shows the store's projects",
    });
  return p;
}

/** The settings the flags give, in the API's field names (absent flags left out). */
async function settingsOf(o: ProjectSettingsFlags & { name?: string; guidelines?: string }) {
  const pick = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    ...pick("name", o.name),
    // An unreadable file is KEEL_E_FILE naming it, not an internal error.
    ...(o.guidelines ? { guidelines: readUtf8File(o.guidelines) } : {}),
    ...pick("overlap", o.overlap),
    ...pick("gold_rate", o.goldRate),
    ...pick("lease_seconds", o.leaseSeconds),
    ...pick("quiz_pass_rate", o.quizPassRate),
    ...pick("quiz_max_attempts", o.quizMaxAttempts),
    ...pick("pause_gold_accuracy", o.pauseGoldAccuracy),
    ...pick("pause_min_gold", o.pauseMinGold),
  };
}

/** Checks flags against the API's schema; an error names the flag. */
function checked<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // In words ("must be at most 100; got 1000"), not zod's ("Too big: expected number to be <=100").
  const { path, message } = zodIssueMessage(parsed.error, { input: raw, schema });
  const field = String(path[0] ?? "");
  const flag = field === "project_id" ? "<id>" : `--${field.replaceAll("_", "-")}`;
  throw new KeelError("KEEL_E_USAGE", `${flag}: ${message}`);
}

export async function runCreate(id: string, o: ProjectCreateFlags): Promise<void> {
  const settings = checked(ProjectCreateIn, {
    project_id: id,
    ...(await settingsOf(o)),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
  const items = [
    ...(o.items ? await readItems(o.items, "task") : []),
    ...(o.quiz ? await readItems(o.quiz, "quiz") : []),
  ];
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    const members = await userIds(db, o.member ?? []);
    const p = await createProject(db, settings, new Date());
    const r = items.length > 0 ? await addItems(db, id, items) : { added: 0, existing: 0 };
    const added = members.length > 0 ? await addMembers(db, id, members, new Date()) : 0;
    return { project_id: p.project_id, items: r.added, members: added };
  });
  if (o.json) printJson(out);
  else printLine(`created project ${out.project_id}: ${out.items} items, ${out.members} members`);
}

/** Adds items (tasks, quiz) and members to an existing project. */
export async function runAdd(id: string, o: ProjectAddFlags): Promise<void> {
  if (!o.items && !o.quiz && (o.member ?? []).length === 0)
    throw new KeelError("KEEL_E_USAGE", "nothing to add: give --items, --quiz or --member");
  const items = [
    ...(o.items ? await readItems(o.items, "task") : []),
    ...(o.quiz ? await readItems(o.quiz, "quiz") : []),
  ];
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    await requireProject(db, id);
    const members = await userIds(db, o.member ?? []);
    const r = items.length > 0 ? await addItems(db, id, items) : { added: 0, existing: 0 };
    const added = members.length > 0 ? await addMembers(db, id, members, new Date()) : 0;
    return {
      project_id: id,
      items: r.added,
      items_already_in_project: r.existing,
      members: added,
      members_already_in_project: members.length - added,
    };
  });
  if (o.json) printJson(out);
  else
    printLine(
      `project ${id}: added ${out.items} items (${out.items_already_in_project} already there), ${out.members} members (${out.members_already_in_project} already there)`,
    );
}

/** One project's items, progress and members, as `keel project show` reports them. */
interface ProjectSummary {
  readonly project: Project;
  readonly items: { tasks: number; gold: number; quiz: number };
  /** Tasks (not gold, not quiz) with at least `overlap` judgments. */
  readonly complete: number;
  /** Judgments on the project's comparisons, and how many its tasks need in all. */
  readonly judgments: number;
  readonly needed: number;
  readonly members: {
    login: string;
    display_name: string;
    role: string;
    status: string;
    status_reason: string | null;
    guidelines_acknowledged: boolean;
    quiz_passed: boolean;
    judgments: number;
  }[];
}

async function summarise(db: CollectionDb, p: Project): Promise<ProjectSummary> {
  const items = await listItems(db, p.project_id);
  const judged = await judgedCounts(db, p.project_id);
  const byRater = await judgmentsPerRater(db, p.project_id);
  const members = await listMembers(db, p.project_id);
  let tasks = 0;
  let gold = 0;
  let quiz = 0;
  let complete = 0;
  for (const it of items) {
    if (it.kind === "quiz") quiz++;
    else if (it.gold !== null) gold++;
    else {
      tasks++;
      if ((judged.get(it.comparison_id) ?? 0) >= p.overlap) complete++;
    }
  }
  let judgments = 0;
  for (const n of judged.values()) judgments += n;
  return {
    project: p,
    items: { tasks, gold, quiz },
    complete,
    judgments,
    needed: tasks * p.overlap,
    members: members.map((m) => ({
      login: m.login,
      display_name: m.display_name,
      role: m.role,
      status: m.status,
      status_reason: m.status_reason,
      guidelines_acknowledged: m.guidelines_ack_at !== null,
      quiz_passed: m.quiz_passed_at !== null,
      judgments: byRater.get(m.user_id) ?? 0,
    })),
  };
}

/**
 * Names, seeds, logins and pause reasons come from the store, where the admin API or another
 * tool put them: JSON escapes C0 controls but not C1's one-byte CSI (U+009B) or bidirectional
 * overrides, which `printable` writes as \u escapes.
 */
const quoted = (text: string) => printable(JSON.stringify(text));

const percent = percentOf;

export async function runList(o: { db: string; json?: boolean }): Promise<void> {
  const all = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    const out: ProjectSummary[] = [];
    for (const p of await listProjects(db)) out.push(await summarise(db, p));
    return out;
  });
  if (o.json) {
    printJson(
      all.map((s) => ({
        project_id: s.project.project_id,
        name: s.project.name,
        created_at: s.project.created_at,
        overlap: s.project.overlap,
        ...s.items,
        complete: s.complete,
        judgments: s.judgments,
        needed: s.needed,
        members: s.members.length,
      })),
    );
    return;
  }
  if (all.length === 0) {
    printLine("no projects (keel project create makes one)");
    return;
  }
  printLine(
    formatTable(
      ["project", "name", "tasks", "gold", "quiz", "overlap", "complete", "judgments", "members"],
      all.map((s) => [
        s.project.project_id,
        clip(quoted(s.project.name), 40),
        s.items.tasks,
        s.items.gold,
        s.items.quiz,
        s.project.overlap,
        percent(s.complete, s.items.tasks),
        s.judgments,
        s.members.length,
      ]),
    ),
  );
}

export async function runShow(id: string, o: ProjectShowFlags): Promise<void> {
  const s = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    return summarise(db, await requireProject(db, id));
  });
  const p = s.project;
  if (o.json) {
    printJson({
      project: p,
      items: s.items,
      complete: s.complete,
      judgments: s.judgments,
      needed: s.needed,
      members: s.members,
    });
    return;
  }
  printLine(`project ${p.project_id} ${quoted(p.name)}, created ${p.created_at}`);
  printLine(
    `settings: overlap ${p.overlap}, gold rate ${p.gold_rate}, lease ${p.lease_seconds} s, quiz pass rate ${p.quiz_pass_rate} (${p.quiz_max_attempts} attempts), pause below gold accuracy ${p.pause_gold_accuracy} after ${p.pause_min_gold} gold, seed ${quoted(p.seed)}`,
  );
  printLine(`guidelines: ${p.guidelines === "" ? "none" : `${p.guidelines.length} characters`}`);
  printLine(
    `items: ${s.items.tasks} tasks, ${s.items.gold} gold, ${s.items.quiz} quiz; complete: ${s.complete} of ${s.items.tasks} tasks (${percent(s.complete, s.items.tasks)}); judgments: ${s.judgments} (the tasks need ${s.needed})`,
  );
  printLine();
  if (s.members.length === 0) {
    printLine("members: none (keel project add ID --member LOGIN)");
    return;
  }
  printLine(`members (${s.members.length}):`);
  printLine(
    formatTable(
      ["login", "role", "status", "guidelines", "quiz", "judgments", "reason"],
      s.members.map((m) => [
        printable(m.login),
        m.role,
        m.status,
        m.guidelines_acknowledged ? "read" : "",
        m.quiz_passed ? "passed" : "",
        m.judgments,
        m.status_reason === null ? "" : clip(quoted(m.status_reason), 60),
      ]),
    ),
  );
}

/** Changes a project's name, guidelines or settings; prints what changed. */
export async function runSet(id: string, o: ProjectSetFlags): Promise<void> {
  const patch = checked(ProjectSettingsIn, await settingsOf(o));
  if (Object.keys(patch).length === 0)
    throw new KeelError("KEEL_E_USAGE", "nothing to change: give a setting (see --help)");
  const { before, after } = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    const before = await requireProject(db, id);
    return { before, after: await updateProject(db, id, patch) };
  });
  const changed = (Object.keys(patch) as (keyof Project)[]).map((setting) => ({
    setting,
    before: before[setting],
    after: after[setting],
  }));
  if (o.json) {
    printJson({ project_id: id, changed });
    return;
  }
  // Guidelines are shown by their length: they can be pages of Markdown.
  const show = (k: keyof Project, v: unknown) =>
    k === "guidelines" ? `${String(v).length} characters` : printable(JSON.stringify(v));
  printLine(`project ${id}:`);
  for (const c of changed)
    printLine(`  ${c.setting}: ${show(c.setting, c.before)} → ${show(c.setting, c.after)}`);
}
