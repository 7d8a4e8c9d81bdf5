/**
 * A rater's state in a project as this process knows it (what they judged or skipped, where
 * their cursor is, their gold record), loaded from the store and kept current by this
 * process's commits; and the gold record's keyed delay.
 */
import { Rng } from "../../core/rng.js";
import type { Choice } from "../../core/types.js";
import {
  type CollectionDb,
  getMember,
  type ItemInfo,
  type Member,
  type Project,
  userDone,
} from "../../store/collection/index.js";
import type { TaskIds } from "./task-id.js";

/** A rater's state in the project, as this process knows it. */
export interface RaterState {
  member: Member;
  readonly done: Set<string>;
  /** Index into `tasks` before which every item is judged/skipped by this rater or complete. */
  cursor: number;
  goldOrder?: number[];
  /**
   * Gold record since the rater was last (re)instated, as the auto-pause policy counts it: a gold
   * answer counts only some judgments after it was given (`recordJudgment`).
   */
  goldSeen: number;
  goldCorrect: number;
  /** Judgments since the rater was last (re)instated. */
  judgedSince: number;
  /** Gold answers not counted yet: each counts once `judgedSince` reaches its `due`. */
  goldPending: { correct: boolean; due: number }[];
}

/**
 * A gold answer counts toward the auto-pause 1 to this many judgments after it was given (a
 * keyed coin per rater and gold answer). Counted at once, a pause would come with the judgment
 * of the gold item that caused it, and tell the rater which item was gold; now it comes some
 * judgments later, after ordinary items as often as not.
 */
export const GOLD_COUNT_DELAY_MAX = 4;

/** What a rater's state is read against: the project's queue, as it is at each use. */
export interface RaterScope {
  readonly project: Project;
  readonly items: ReadonlyMap<string, ItemInfo>;
  readonly ids: TaskIds;
}

/** The rater's state, from the store; undefined when the user is not a member. */
export async function loadRater(
  q: RaterScope,
  db: CollectionDb,
  userId: string,
): Promise<RaterState | undefined> {
  const member = await getMember(db, q.project.project_id, userId);
  if (!member) return undefined;
  const { judged, skipped } = await userDone(db, q.project.project_id, userId);
  const s: RaterState = {
    member,
    done: new Set([...judged, ...skipped]),
    cursor: 0,
    goldSeen: 0,
    goldCorrect: 0,
    judgedSince: 0,
    goldPending: [],
  };
  const since = member.status === "active" ? member.status_at : undefined;
  if (since !== undefined) {
    // This project's judgments only, as `recordJudgment` is called live: the rater's
    // judgments elsewhere would move the gold answers' due counts.
    const rows = await db
      .selectFrom("judgments as j")
      .innerJoin("project_items as i", "i.comparison_id", "j.comparison_id")
      .select(["j.comparison_id", "j.choice"])
      .where("i.project_id", "=", q.project.project_id)
      .where("j.rater_id", "=", userId)
      .where("j.recorded_at", ">=", since)
      .orderBy("j.seq")
      .execute();
    for (const r of rows) recordJudgment(q, s, r.comparison_id, r.choice);
  }
  return s;
}

/**
 * Updates the rater's gold record after a judgment: a gold answer waits its keyed delay
 * (GOLD_COUNT_DELAY_MAX), and answers whose delay has run out are counted. The same
 * judgments in the same order give the same record in every process.
 */
export function recordJudgment(
  q: RaterScope,
  s: RaterState,
  comparisonId: string,
  choice: Choice,
): void {
  s.judgedSince++;
  const it = q.items.get(comparisonId);
  if (it?.kind === "task" && it.gold !== null) {
    const nth = s.goldSeen + s.goldPending.length;
    const coin = new Rng(
      q.ids.keyedSeed(`${q.project.seed}/gold-delay/${s.member.user_id}/${nth}`),
    );
    const due = s.judgedSince + 1 + coin.int(GOLD_COUNT_DELAY_MAX);
    s.goldPending.push({ correct: choice === it.gold, due });
  }
  const counted = s.goldPending.filter((g) => g.due <= s.judgedSince);
  if (counted.length === 0) return;
  s.goldPending = s.goldPending.filter((g) => g.due > s.judgedSince);
  s.goldSeen += counted.length;
  s.goldCorrect += counted.filter((g) => g.correct).length;
}
