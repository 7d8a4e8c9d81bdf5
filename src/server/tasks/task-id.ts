/**
 * What the rater's browser sees of a task: an opaque id and a display order, both derived
 * from a server secret, so they reveal nothing about the comparison (in particular whether it
 * is a gold item) and stay the same each time the same rater is served the same comparison.
 *
 *   task_id     = base64url(HMAC-SHA256(secret, "task" ‖ project ‖ user ‖ comparison))[0..22)
 *   shown_order = "ba" if the first byte of HMAC-SHA256(secret, "order" ‖ …) is odd, else "ab"
 *
 * 132 bits of id: unguessable, so a rater cannot name a task that was not served to them.
 * The order is a fair coin per (rater, comparison), independent across raters, which is what
 * position-bias estimates need; it is recorded in the ledger as `shown_order`.
 */
import { createHmac } from "node:crypto";
import type { ShownOrder } from "../../core/types.js";

export class TaskIds {
  constructor(private readonly secret: Buffer) {}

  private mac(kind: string, projectId: string, userId: string, comparisonId: string): Buffer {
    return createHmac("sha256", this.secret)
      .update(`${kind}\u0000${projectId}\u0000${userId}\u0000${comparisonId}`)
      .digest();
  }

  taskId(projectId: string, userId: string, comparisonId: string): string {
    return this.mac("task", projectId, userId, comparisonId).toString("base64url").slice(0, 22);
  }

  shownOrder(projectId: string, userId: string, comparisonId: string): ShownOrder {
    return (this.mac("order", projectId, userId, comparisonId)[0]! & 1) === 1 ? "ba" : "ab";
  }
}
