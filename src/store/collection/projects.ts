/**
 * Projects and their items. A project is a set of stored comparisons (kind "task", judged
 * through the queue, gold ones mixed in; kind "quiz", the onboarding quiz, all gold), each in a
 * named batch, with the settings the task flow needs. Comparisons may be added without any
 * judgment: their texts go into `texts` under the same digests the ledger uses.
 */
import { contentDigest, storedText } from "../../core/digest.js";
import { KeelError } from "../../core/errors.js";
import { isWellFormed, NOT_WELL_FORMED } from "../../core/schemas.js";
import type { Choice, Comparison, Content } from "../../core/types.js";
import { TEXT_COLUMNS } from "../read.js";
import type { CollectionDb, ItemKind, ProjectsTable } from "./schema.js";
import { isUniqueViolation, writeTransaction } from "./util.js";

export type Project = ProjectsTable;

export type ProjectSettings = Omit<ProjectsTable, "project_id" | "created_at" | "name">;

export const DEFAULT_SETTINGS: Omit<ProjectSettings, "seed"> = {
  guidelines: "",
  overlap: 3,
  gold_rate: 0.1,
  lease_seconds: 600,
  quiz_pass_rate: 0.8,
  quiz_max_attempts: 3,
  pause_gold_accuracy: 0.5,
  pause_min_gold: 5,
};

/**
 * Refuses a project text that one database could not keep as given: PostgreSQL's text cannot
 * hold NUL (SQLite stored it, so `keel project create --guidelines` of such a file worked on
 * one dialect and was an internal error on the other), and neither keeps a lone surrogate.
 * The API checks these before; `keel project` reads guidelines from any file.
 */
function checkStorable(projectId: string, fields: Readonly<Record<string, unknown>>): void {
  for (const [field, v] of Object.entries(fields)) {
    if (typeof v !== "string") continue;
    const problem = v.includes("\u0000")
      ? "must not contain NUL characters"
      : isWellFormed(v)
        ? undefined
        : NOT_WELL_FORMED;
    if (problem) {
      throw new KeelError("KEEL_E_INVALID_RECORD", problem, { where: { id: projectId, field } });
    }
  }
}

export async function createProject(
  db: CollectionDb,
  p: { project_id: string; name: string } & Partial<ProjectSettings>,
  now: Date,
): Promise<Project> {
  checkStorable(p.project_id, p);
  const row: Project = {
    ...DEFAULT_SETTINGS,
    seed: p.project_id,
    ...p,
    created_at: now.toISOString(),
  };
  try {
    await db.insertInto("projects").values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new KeelError("KEEL_E_DUPLICATE", `project ${JSON.stringify(p.project_id)} exists`, {
        where: { field: "project_id" },
      });
    }
    throw e;
  }
  return row;
}

export async function getProject(
  db: CollectionDb,
  projectId: string,
): Promise<Project | undefined> {
  return db
    .selectFrom("projects")
    .selectAll()
    .where("project_id", "=", projectId)
    .executeTakeFirst();
}

export async function listProjects(db: CollectionDb): Promise<Project[]> {
  return db.selectFrom("projects").selectAll().orderBy("created_at").execute();
}

export async function updateProject(
  db: CollectionDb,
  projectId: string,
  patch: Partial<Omit<ProjectSettings, "seed">> & { name?: string },
): Promise<Project> {
  checkStorable(projectId, patch);
  if (Object.keys(patch).length > 0) {
    await db.updateTable("projects").set(patch).where("project_id", "=", projectId).execute();
  }
  const p = await getProject(db, projectId);
  if (!p) throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(projectId)}`);
  return p;
}

export interface NewItem {
  readonly comparison: Comparison;
  readonly kind: ItemKind;
  readonly batch: string;
}

/** A stored comparison's digests and gold answer. */
interface StoredComparison {
  readonly p: string;
  readonly a: string;
  readonly b: string;
  gold: Choice | null;
}

/** The stored comparisons among `ids`. */
async function storedComparisons(trx: CollectionDb, ids: readonly string[]) {
  const stored = new Map<string, StoredComparison>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await trx
      .selectFrom("comparisons")
      .select(["comparison_id", "prompt_digest", "a_digest", "b_digest", "gold"])
      .where("comparison_id", "in", ids.slice(i, i + 500))
      .execute();
    for (const r of rows)
      stored.set(r.comparison_id, {
        p: r.prompt_digest,
        a: r.a_digest,
        b: r.b_digest,
        gold: r.gold,
      });
  }
  return stored;
}

/** Where the comparisons among `ids` are items: in this project (with their kind) or another. */
async function memberships(trx: CollectionDb, projectId: string, ids: readonly string[]) {
  const inProject = new Map<string, ItemKind>();
  /** Items of these ids in other projects: comparison id → project id. */
  const elsewhere = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await trx
      .selectFrom("project_items")
      .select(["comparison_id", "project_id", "kind"])
      .where("comparison_id", "in", ids.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      if (r.project_id === projectId) inProject.set(r.comparison_id, r.kind);
      else elsewhere.set(r.comparison_id, r.project_id);
    }
  }
  return { inProject, elsewhere };
}

/**
 * Checks an item whose comparison is stored against the stored one (same texts, no contradicting
 * gold) and records a gold answer the stored one lacked.
 */
async function reconcile(
  trx: CollectionDb,
  c: Comparison,
  digests: readonly string[],
  known: StoredComparison,
  inProject: boolean,
  where: { line: number; id: string },
): Promise<void> {
  const field =
    known.p !== digests[0]
      ? "prompt"
      : known.a !== digests[1]
        ? "response_a"
        : known.b !== digests[2]
          ? "response_b"
          : undefined;
  if (field) {
    throw new KeelError(
      "KEEL_E_CONFLICT",
      `differs from the stored comparison ${JSON.stringify(c.comparison_id)}`,
      { where: { ...where, field } },
    );
  }
  if (c.gold === undefined || known.gold === c.gold) return;
  if (known.gold !== null) {
    throw new KeelError("KEEL_E_CONFLICT", `gold contradicts the stored gold ${known.gold}`, {
      where: { ...where, field: "gold" },
    });
  }
  if (inProject) {
    // Raters may already have been served it as an ordinary task, and the running queues
    // keep it in their task list.
    throw new KeelError(
      "KEEL_E_CONFLICT",
      `comparison ${JSON.stringify(c.comparison_id)} is already an ordinary task of this project; it cannot become gold`,
      { where: { ...where, field: "gold" } },
    );
  }
  await trx
    .updateTable("comparisons")
    .set({ gold: c.gold })
    .where("comparison_id", "=", c.comparison_id)
    .execute();
  known.gold = c.gold;
}

/** Stores a new comparison and its texts. */
async function insertComparison(
  trx: CollectionDb,
  c: Comparison,
  digests: readonly string[],
): Promise<StoredComparison> {
  const contents = [c.prompt, c.response_a, c.response_b];
  for (let k = 0; k < 3; k++) {
    await trx
      .insertInto("texts")
      .values(storedText(contents[k]!, digests[k]!))
      .onConflict((oc) => oc.column("digest").doNothing())
      .execute();
  }
  const gold = c.gold ?? null;
  await trx
    .insertInto("comparisons")
    .values({
      comparison_id: c.comparison_id,
      prompt_digest: digests[0]!,
      a_digest: digests[1]!,
      b_digest: digests[2]!,
      gold,
    })
    .execute();
  return { p: digests[0]!, a: digests[1]!, b: digests[2]!, gold };
}

/**
 * Stores the comparisons (new ones with their texts; known ones must name the same texts and
 * must not contradict a stored gold answer) and adds them to the project, in one transaction.
 * Returns how many items were new to the project; an item already there (or given twice) counts
 * once, and must keep its kind: a task cannot also be a quiz item. Additions run one at a time
 * (on PostgreSQL too): two at once would both find a comparison in no project and put it in two,
 * or number their items from the same last position.
 */
export async function addItems(
  db: CollectionDb,
  projectId: string,
  items: readonly NewItem[],
): Promise<{ added: number; existing: number }> {
  return writeTransaction(
    db,
    async (trx) => {
      const ids = [...new Set(items.map((i) => i.comparison.comparison_id))];
      const stored = await storedComparisons(trx, ids);
      const { inProject, elsewhere } = await memberships(trx, projectId, ids);
      const maxPos = await trx
        .selectFrom("project_items")
        .select((eb) => eb.fn.max("position").as("m"))
        .where("project_id", "=", projectId)
        .executeTakeFirst();
      let position = Number(maxPos?.m ?? 0);
      let added = 0;
      let existing = 0;
      /** Items of this call so far (and the project's): comparison id → kind. */
      const kinds = new Map(inProject);
      for (const [n, item] of items.entries()) {
        const c = item.comparison;
        const where = { line: n + 1, id: c.comparison_id };
        if (
          item.kind === "quiz" &&
          c.gold === undefined &&
          stored.get(c.comparison_id)?.gold == null
        ) {
          throw new KeelError("KEEL_E_INVALID_RECORD", "a quiz item needs a gold answer", {
            where: { ...where, field: "gold" },
          });
        }
        // Judgments carry no project: one comparison's judgments would count towards the overlap,
        // progress and export of every project that held it, and a quiz answer in one would be a
        // gold answer in another.
        const other = elsewhere.get(c.comparison_id);
        if (other !== undefined) {
          throw new KeelError(
            "KEEL_E_CONFLICT",
            `comparison ${JSON.stringify(c.comparison_id)} is already an item of project ${JSON.stringify(other)}; a comparison can be in one project only (give it another comparison_id)`,
            { where: { ...where, field: "comparison_id" } },
          );
        }
        const kind = kinds.get(c.comparison_id);
        if (kind !== undefined && kind !== item.kind) {
          // Counted as "already there", the item would silently stay what it was.
          throw new KeelError(
            "KEEL_E_CONFLICT",
            `comparison ${JSON.stringify(c.comparison_id)} is already a ${kind} item of this project; it cannot also be a ${item.kind} item`,
            { where: { ...where, field: "kind" } },
          );
        }
        const digests = [c.prompt, c.response_a, c.response_b].map((x: Content) =>
          contentDigest(x),
        );
        const known = stored.get(c.comparison_id);
        if (known) await reconcile(trx, c, digests, known, inProject.has(c.comparison_id), where);
        else stored.set(c.comparison_id, await insertComparison(trx, c, digests));
        if (kind !== undefined) {
          existing++;
          continue;
        }
        kinds.set(c.comparison_id, item.kind);
        position++;
        await trx
          .insertInto("project_items")
          .values({
            project_id: projectId,
            comparison_id: c.comparison_id,
            kind: item.kind,
            batch: item.batch,
            position,
          })
          .execute();
        added++;
      }
      return { added, existing };
    },
    // One at a time, and never inside an import (see takeLocks in util.ts).
    { serialize: "add_items", ledger: true },
  );
}

export interface ItemInfo {
  readonly comparison_id: string;
  readonly kind: ItemKind;
  readonly batch: string;
  readonly position: number;
  readonly gold: Choice | null;
}

/** How many items (tasks, gold and quiz) a project has. */
export async function countItems(db: CollectionDb, projectId: string): Promise<number> {
  const r = await db
    .selectFrom("project_items")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Every item of a project with its gold answer, in position order. */
export async function listItems(db: CollectionDb, projectId: string): Promise<ItemInfo[]> {
  return db
    .selectFrom("project_items as i")
    .innerJoin("comparisons as c", "c.comparison_id", "i.comparison_id")
    .select(["i.comparison_id", "i.kind", "i.batch", "i.position", "c.gold"])
    .where("i.project_id", "=", projectId)
    .orderBy("i.position")
    .execute();
}

/** The texts of comparisons, by id. */
export async function comparisonTexts(
  db: CollectionDb,
  ids: readonly string[],
): Promise<Map<string, { prompt: Content; response_a: Content; response_b: Content }>> {
  const out = new Map<string, { prompt: Content; response_a: Content; response_b: Content }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom("comparisons as c")
      .innerJoin("texts as p", "p.digest", "c.prompt_digest")
      .innerJoin("texts as ta", "ta.digest", "c.a_digest")
      .innerJoin("texts as tb", "tb.digest", "c.b_digest")
      .select(["c.comparison_id", ...TEXT_COLUMNS])
      .where("c.comparison_id", "in", ids.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      out.set(r.comparison_id, {
        prompt: asContent(r.prompt, r.prompt_chat),
        response_a: asContent(r.a, r.a_chat),
        response_b: asContent(r.b, r.b_chat),
      });
    }
  }
  return out;
}

function asContent(body: string, isChat: number): Content {
  return isChat === 1 ? (JSON.parse(body) as Content) : body;
}

/** Judgment counts per comparison of the project (from the ledger). */
export function judgedCounts(db: CollectionDb, projectId: string): Promise<Map<string, number>> {
  return countJudgmentsBy(db, projectId, "j.comparison_id");
}

/** Judgment counts per rater on the project's comparisons (from the ledger). */
export function judgmentsPerRater(
  db: CollectionDb,
  projectId: string,
): Promise<Map<string, number>> {
  return countJudgmentsBy(db, projectId, "j.rater_id");
}

async function countJudgmentsBy(
  db: CollectionDb,
  projectId: string,
  key: "j.comparison_id" | "j.rater_id",
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("judgments as j")
    .innerJoin("project_items as i", "i.comparison_id", "j.comparison_id")
    .select((eb) => [eb.ref(key).as("key"), eb.fn.countAll<number>().as("n")])
    .where("i.project_id", "=", projectId)
    .groupBy(key)
    .execute();
  return new Map(rows.map((r) => [r.key, Number(r.n)]));
}

/** The project's comparisons a user has judged (ledger) or skipped. */
export async function userDone(
  db: CollectionDb,
  projectId: string,
  userId: string,
): Promise<{ judged: string[]; skipped: string[] }> {
  const judged = await db
    .selectFrom("judgments as j")
    .innerJoin("project_items as i", "i.comparison_id", "j.comparison_id")
    .select("j.comparison_id")
    .where("i.project_id", "=", projectId)
    .where("j.rater_id", "=", userId)
    .execute();
  const skipped = await db
    .selectFrom("skips")
    .select("comparison_id")
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId)
    .execute();
  return {
    judged: judged.map((r) => r.comparison_id),
    skipped: skipped.map((r) => r.comparison_id),
  };
}
