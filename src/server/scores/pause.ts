/**
 * Auto-pause from the audit: a rater whose audit verdict is "excluded" (suspicion past the
 * policy's exclusion threshold) stops receiving tasks and waits in the review queue, where a
 * reviewer reinstates or excludes them. The gold-accuracy check in the task flow pauses at once;
 * this sweep, run every `auditIntervalMs`, catches what only the whole audit sees (agreement,
 * collusion, speed, position bias, triggers, promotions).
 *
 * A reviewer's reinstatement holds against it: the audit would reach the same verdict on the
 * same judgments within one sweep, and the reviewer has looked at them. The reviewer still sees
 * the live verdict on the admin page, and the gold check, which counts only gold answered since
 * the reinstatement, can still pause the rater at once.
 */
import { reviewEvents, setMemberStatus } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { releaseHeld } from "../tasks/leases.js";
import type { ProjectQueue } from "../tasks/queue.js";

/** Pauses the active members the audit excludes; returns their user ids. */
export async function pauseExcluded(ctx: ServerContext, q: ProjectQueue): Promise<string[]> {
  const a = await ctx.scores.audit(q, ctx.now().getTime());
  if (!a) return [];
  const paused: string[] = [];
  for (const r of a.raters) {
    if (r.verdict !== "excluded") continue;
    const events = await reviewEvents(ctx.db, q.project.project_id, r.rater_id);
    if (events.at(-1)?.action === "reinstate") continue;
    const m = await setMemberStatus(
      ctx.db,
      {
        project_id: q.project.project_id,
        user_id: r.rater_id,
        status: "paused",
        action: "auto_pause",
        actor_id: null,
        reason: `audit: suspicion ${r.suspicion.toFixed(2)} — ${r.reasons.join("; ") || "past the exclusion threshold"}`,
        from: ["active"],
      },
      ctx.now(),
    );
    if (m) {
      await releaseHeld(ctx.leases, q.project.project_id, r.rater_id, ctx.now().getTime());
      q.forget(r.rater_id);
      paused.push(r.rater_id);
    }
  }
  if (paused.length > 0) ctx.scores.invalidate(q.project.project_id);
  return paused;
}
