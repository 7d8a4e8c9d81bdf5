/**
 * The score board: live scores per project, recomputed from the ledger when it has grown and
 * the last computation is older than `scoresCacheMs`, so that an admin page polling every few
 * seconds does not re-run Dawid–Skene on every request.
 */
import type { CollectionDb } from "../../store/collection/index.js";
import type { FeedbackStore } from "../../store/store.js";
import type { ProjectQueue } from "../tasks/queue.js";
import { computeScores, type ProjectScores, type ScoredJudgment } from "./live.js";

interface Entry {
  readonly seq: number;
  readonly at: number;
  readonly scores: ProjectScores;
}

export class ScoreBoard {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly store: FeedbackStore,
    private readonly db: CollectionDb,
    private readonly cacheMs: number,
  ) {}

  async judgments(projectId: string): Promise<ScoredJudgment[]> {
    return this.db
      .selectFrom("judgments as j")
      .innerJoin("project_items as i", "i.comparison_id", "j.comparison_id")
      .select([
        "j.comparison_id",
        "j.rater_id",
        "j.choice",
        "j.shown_order",
        "j.latency_ms",
        "j.flags",
      ])
      .where("i.project_id", "=", projectId)
      .orderBy("j.seq")
      .execute();
  }

  async scores(q: ProjectQueue, nowMs: number): Promise<ProjectScores> {
    const pid = q.project.project_id;
    const head = await this.store.ledgerHead();
    const hit = this.cache.get(pid);
    if (hit && (hit.seq === head.seq || nowMs - hit.at < this.cacheMs)) return hit.scores;
    const members = await this.db
      .selectFrom("project_members")
      .select(["user_id", "status"])
      .where("project_id", "=", pid)
      .execute();
    const scores = computeScores(
      q.project,
      q.items,
      await this.judgments(pid),
      new Map(members.map((m) => [m.user_id, m.status])),
    );
    this.cache.set(pid, { seq: head.seq, at: nowMs, scores });
    return scores;
  }

  /** Collusion groups and triggers: the defenses' audit finds them (not wired yet). */
  async groups(_q: ProjectQueue): Promise<{
    source: "audit" | "unavailable";
    groups: { rater_ids: string[]; score: number; reason: string }[];
    triggers: { pattern: string; score: number; support: number }[];
  }> {
    return { source: "unavailable", groups: [], triggers: [] };
  }

  invalidate(projectId: string): void {
    this.cache.delete(projectId);
  }
}
