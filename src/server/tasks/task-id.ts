/**
 * What the rater's browser sees of a task: an opaque id and a display order, both derived
 * from a server secret, so they reveal nothing about the comparison (in particular whether it
 * is a gold item) and stay the same each time the same rater is served the same comparison.
 *
 *   m           = HMAC-SHA256(secret, project ‖ user ‖ comparison)
 *   task_id     = base64url(m[0..16))[0..22)
 *   shown_order = "ba" if m[31] is odd, else "ab"
 *
 * 128 bits of id: unguessable, so a rater cannot name a task that was not served to them.
 * The order is a fair coin per (rater, comparison), independent across raters, which is what
 * position-bias estimates need; it is recorded in the ledger as `shown_order`.
 *
 * The queue's own coins (is the next task gold? in which order come the gold items?) are keyed
 * by the same secret (`keyedSeed`): seeded from the project's settings alone, a rater who knows
 * the algorithm, the project id and their own user id could tell which of their tasks are gold.
 */
import { createHmac } from "node:crypto";
import type { ShownOrder } from "../../core/types.js";

export class TaskIds {
  constructor(private readonly secret: Buffer) {}

  /** Both at once (one HMAC): the id and the order of a (project, user, comparison). */
  derive(
    projectId: string,
    userId: string,
    comparisonId: string,
  ): { taskId: string; shownOrder: ShownOrder } {
    const m = createHmac("sha256", this.secret)
      .update(`${projectId}\u0000${userId}\u0000${comparisonId}`)
      .digest();
    return {
      taskId: m.subarray(0, 16).toString("base64url").slice(0, 22),
      shownOrder: (m[31]! & 1) === 1 ? "ba" : "ab",
    };
  }

  /**
   * A seed for the queue's random choices that only the server can compute: the HMAC of
   * `label` (which names the project's seed, the rater and the draw), as hex. The same secret
   * and label give the same seed, so every process serving the store draws alike.
   */
  keyedSeed(label: string): string {
    return createHmac("sha256", this.secret).update(`queue\u0000${label}`).digest("hex");
  }

  taskId(projectId: string, userId: string, comparisonId: string): string {
    return this.derive(projectId, userId, comparisonId).taskId;
  }

  shownOrder(projectId: string, userId: string, comparisonId: string): ShownOrder {
    return this.derive(projectId, userId, comparisonId).shownOrder;
  }
}
