/**
 * The task queues of all projects, loaded on first use (one load per project at a time), and
 * brought up to date with the store at most every `SYNC_MS` (items and settings that another
 * process or the CLI wrote, and the standing of raters another process changed).
 */
import { KeelError } from "../../core/errors.js";
import { type CollectionDb, getProject } from "../../store/collection/index.js";
import type { LeaseStore } from "./leases.js";
import { ProjectQueue } from "./queue.js";
import type { TaskIds } from "./task-id.js";

/** How often a queue in use looks for items and settings written elsewhere. */
export const SYNC_MS = 5_000;

export class QueueRegistry {
  private readonly queues = new Map<string, Promise<ProjectQueue>>();

  constructor(
    private readonly db: CollectionDb,
    private readonly leases: LeaseStore,
    private readonly ids: TaskIds,
    private readonly now: () => number = Date.now,
  ) {}

  async get(projectId: string): Promise<ProjectQueue> {
    let q = this.queues.get(projectId);
    if (!q) {
      q = (async () => {
        const p = await getProject(this.db, projectId);
        if (!p) throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(projectId)}`);
        const loaded = await ProjectQueue.load(p, this.db, this.leases, this.ids);
        loaded.syncedAt = this.now();
        return loaded;
      })();
      this.queues.set(projectId, q);
      q.catch(() => this.queues.delete(projectId));
    }
    const queue = await q;
    const t = this.now();
    // A clock stepped back (NTP, a test's clock) would otherwise hold the sync off until it
    // caught up with the last one.
    if (t - queue.syncedAt >= SYNC_MS || t < queue.syncedAt) {
      // Marked first: requests arriving meanwhile go on with the queue as it is.
      queue.syncedAt = t;
      await queue.syncFromStore(t);
    }
    return queue;
  }

  /** The queues loaded so far. */
  async loaded(): Promise<ProjectQueue[]> {
    const out: ProjectQueue[] = [];
    for (const q of this.queues.values()) {
      const x = await q.catch(() => undefined);
      if (x) out.push(x);
    }
    return out;
  }

  /** Drops a project's queue so the next use reloads it (after items or settings change). */
  reload(projectId: string): void {
    this.queues.delete(projectId);
  }
}
