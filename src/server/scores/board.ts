/**
 * The score board: live scores per project — the defenses' `audit()` over the project's
 * judgments (texts included, for the trigger and length detectors) plus the server's own
 * per-rater statistics — recomputed from the ledger when it has grown and the last computation
 * is older than `scoresCacheMs`, so that an admin page polling every few seconds does not re-run
 * the audit on every request; the requests that find the entry stale together share one run.
 */
import type { Judgment } from "../../core/types.js";
import { type AuditResult, audit, type Policy } from "../../defend/index.js";
import type { CollectionDb } from "../../store/collection/index.js";
import type { FeedbackStore } from "../../store/store.js";
import type { ProjectQueue } from "../tasks/queue.js";
import { computeScores, finite, type ProjectScores, type ScoredJudgment } from "./live.js";

interface Entry {
  readonly seq: number;
  readonly at: number;
  readonly scores: ProjectScores;
  readonly audit: AuditResult | undefined;
}

export class ScoreBoard {
  private readonly cache = new Map<string, Entry>();
  private readonly running = new Map<string, Promise<Entry>>();
  /** Bumped by every invalidation: a computation that began before one is not kept. */
  private generation = 0;

  constructor(
    private readonly store: FeedbackStore,
    private readonly db: CollectionDb,
    private readonly cacheMs: number,
    private readonly policy: Policy = "balanced",
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
    return (await this.entry(q, nowMs)).scores;
  }

  /** The last audit of the project (recomputed as `scores` is). */
  async audit(q: ProjectQueue, nowMs: number): Promise<AuditResult | undefined> {
    return (await this.entry(q, nowMs)).audit;
  }

  private async entry(q: ProjectQueue, nowMs: number): Promise<Entry> {
    const pid = q.project.project_id;
    const head = await this.store.ledgerHead();
    const hit = this.cache.get(pid);
    // Kept while the ledger has not grown, or for `cacheMs` — not for as long as a clock
    // stepped back takes to catch up with the entry's time.
    if (hit && (hit.seq === head.seq || (nowMs >= hit.at && nowMs - hit.at < this.cacheMs)))
      return hit;
    // Requests that find the entry stale together share one computation (the admin page asks
    // for raters, agreement and groups at once: three audits of the whole project otherwise).
    const joined = this.running.get(pid);
    if (joined) return joined;
    const generation = this.generation;
    const run: Promise<Entry> = this.compute(q, head.seq, nowMs)
      .then((e) => {
        // An invalidation meanwhile (a status changed) makes this result stale at once.
        if (this.generation === generation) this.cache.set(pid, e);
        return e;
      })
      .finally(() => {
        if (this.running.get(pid) === run) this.running.delete(pid);
      });
    this.running.set(pid, run);
    return run;
  }

  private async compute(q: ProjectQueue, seq: number, nowMs: number): Promise<Entry> {
    const pid = q.project.project_id;
    const members = await this.db
      .selectFrom("project_members")
      .select(["user_id", "status"])
      .where("project_id", "=", pid)
      .execute();
    const full: Judgment[] = [];
    for await (const j of this.store.judgments({ project: pid, tasksOnly: true })) full.push(j);
    const audited =
      full.length > 0
        ? audit({ judgments: full }, { policy: this.policy, textsDigests: false })
        : undefined;
    const scores = computeScores(
      q.project,
      q.items,
      await this.judgments(pid),
      new Map(members.map((m) => [m.user_id, m.status])),
      audited,
    );
    return { seq, at: nowMs, scores, audit: audited };
  }

  /**
   * Collusion groups, trigger patterns and promoted names found by the audit; a score that is
   * not a finite number is null (JSON has no NaN: fastify's serializer would fail the request).
   */
  async groups(
    q: ProjectQueue,
    nowMs: number,
  ): Promise<{
    source: "audit" | "unavailable";
    groups: { rater_ids: string[]; score: number | null; reason: string }[];
    triggers: { pattern: string; score: number | null; support: number }[];
    promotions: { pattern: string; score: number | null; support: number; raters: number }[];
  }> {
    const a = await this.audit(q, nowMs);
    if (!a) return { source: "unavailable", groups: [], triggers: [], promotions: [] };
    return {
      source: "audit",
      groups: a.groups.map((g) => ({
        rater_ids: [...g.rater_ids],
        score: finite(g.score),
        reason: g.reason,
      })),
      triggers: a.triggers.map((t) => ({
        pattern: t.pattern,
        score: finite(t.score),
        support: t.support,
      })),
      promotions: a.promotions.map((p) => ({
        pattern: p.pattern,
        score: finite(p.score),
        support: p.support,
        raters: p.raters,
      })),
    };
  }

  invalidate(projectId: string): void {
    this.generation++;
    this.cache.delete(projectId);
    this.running.delete(projectId);
  }
}
