/**
 * A task id with no lease behind it, from a rater who was served it: the server restarted (a
 * single process keeps its leases in memory), or a lapsed lease was forgotten after its grace
 * period. Task ids are derived from (project, rater, comparison), so serving the rater again
 * gives the same id for the same comparison: when the task they name is the one they would be
 * served now, they get it back and their judgment counts, instead of being refused and shown
 * the same comparison again to judge twice.
 *
 * Which task the rater is owed is asked first without taking its lease (`peek`): an id that is
 * not it (made up, another rater's, one they are past) costs no lease taken and dropped, in any
 * project, however many such ids are sent. Only an id that matches is acquired (`next`); a
 * lease that is then not it (another request took the slot in between) is released at once,
 * so an id that names nothing holds no slot.
 */
import { memberProjects } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import type { Lease } from "./leases.js";
import type { ProjectQueue, RaterState } from "./queue.js";

/** May the rater be served tasks in the project now (as `requireReady`, without throwing)? */
function ready(q: ProjectQueue, s: RaterState): boolean {
  return (
    s.member.status === "active" &&
    s.member.guidelines_ack_at !== null &&
    (q.quiz.length === 0 || s.member.quiz_passed_at !== null)
  );
}

/** The rater's task `taskId` served again, or undefined when it is not theirs to take now. */
export async function reclaim(
  ctx: ServerContext,
  taskId: string,
  userId: string,
  nowMs: number,
): Promise<Lease | undefined> {
  for (const pid of await memberProjects(ctx.db, userId)) {
    const q = await ctx.queues.get(pid).catch(() => undefined);
    const s = await q?.rater(userId);
    if (!q || !s || !ready(q, s)) continue;
    // A rater holding a live task here is served that one, and it is not `taskId` (whose lease
    // is unknown): serving would change nothing.
    if ((await ctx.leases.heldBy(pid, userId, nowMs)).length > 0) continue;
    if ((await q.peek(userId, s, nowMs))?.taskId !== taskId) continue;
    const l = await q.next(userId, s, nowMs);
    if (l?.taskId === taskId) return l;
    if (l) await ctx.leases.release(l.taskId);
  }
  return undefined;
}
