/** Project-scoped access: staff (reviewer and up) see every project; raters only their own. */
import type { FastifyRequest } from "fastify";
import { KeelError } from "../../core/errors.js";
import { memberProjects } from "../../store/collection/index.js";
import { atLeast } from "../auth/roles.js";
import type { ServerContext } from "../context.js";
import type { ProjectQueue, RaterState } from "../tasks/queue.js";

/** The project's queue for staff; a non-member rater gets the same 404 as a missing project. */
export async function projectFor(
  ctx: ServerContext,
  req: FastifyRequest,
  projectId: string,
): Promise<ProjectQueue> {
  const user = req.user!;
  let q: ProjectQueue;
  try {
    q = await ctx.queues.get(projectId);
  } catch (e) {
    throw e instanceof KeelError ? notFound(projectId) : e;
  }
  if (atLeast(user.role, "reviewer")) return q;
  if (!(await q.rater(user.user_id))) throw notFound(projectId);
  return q;
}

/** The caller's own state as a member of the project (any role may be a member). */
export async function memberState(
  ctx: ServerContext,
  req: FastifyRequest,
  projectId: string,
): Promise<{ q: ProjectQueue; s: RaterState }> {
  let q: ProjectQueue;
  try {
    q = await ctx.queues.get(projectId);
  } catch (e) {
    throw e instanceof KeelError ? notFound(projectId) : e;
  }
  const s = await q.rater(req.user!.user_id);
  if (!s) throw notFound(projectId);
  return { q, s };
}

export function notFound(projectId: string): KeelError {
  return new KeelError(
    "KEEL_E_NOT_FOUND",
    `no project ${JSON.stringify(projectId)} that you belong to`,
  );
}

/** What a rater who is not active (paused, excluded) is answered when they ask for work. */
export function notTakingPart(status: "paused" | "excluded"): KeelError {
  return new KeelError(
    "KEEL_E_FORBIDDEN",
    status === "paused"
      ? "your work on this project is paused pending review"
      : "you are no longer taking part in this project",
  );
}

/** Refuses task work until the member may do it: active, guidelines read, quiz passed. */
export function requireReady(q: ProjectQueue, s: RaterState): void {
  if (s.member.status !== "active") throw notTakingPart(s.member.status);
  if (s.member.guidelines_ack_at === null) {
    throw new KeelError("KEEL_E_FORBIDDEN", "read and acknowledge the guidelines first");
  }
  if (q.quiz.length > 0 && s.member.quiz_passed_at === null) {
    throw new KeelError("KEEL_E_FORBIDDEN", "pass the onboarding quiz first");
  }
}

/**
 * Why a rater who names a task they hold no lease on is refused, when their standing explains
 * it: a rater who stopped taking part (paused, excluded) gave up their leases then, so the task
 * id of the comparison they were looking at names nothing any more; they are told they are
 * paused (or no longer taking part), as they would have been with the lease still there.
 * Undefined while they are active in some project of theirs (the id may be a lapsed task
 * there; a task id does not say which project it is of).
 */
export async function standingRefusal(
  ctx: ServerContext,
  userId: string,
): Promise<KeelError | undefined> {
  let standing: "paused" | "excluded" | undefined;
  for (const pid of await memberProjects(ctx.db, userId)) {
    const s = await (await ctx.queues.get(pid).catch(() => undefined))?.rater(userId);
    if (!s) continue;
    if (s.member.status === "active") return undefined;
    if (standing !== "paused") standing = s.member.status;
  }
  return standing === undefined ? undefined : notTakingPart(standing);
}
