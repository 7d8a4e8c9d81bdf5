/** The task queues of all projects, loaded on first use (one load per project at a time). */
import { KeelError } from "../../core/errors.js";
import { type CollectionDb, getProject } from "../../store/collection/index.js";
import type { LeaseStore } from "./leases.js";
import { ProjectQueue } from "./queue.js";
import type { TaskIds } from "./task-id.js";

export class QueueRegistry {
  private readonly queues = new Map<string, Promise<ProjectQueue>>();

  constructor(
    private readonly db: CollectionDb,
    private readonly leases: LeaseStore,
    private readonly ids: TaskIds,
  ) {}

  get(projectId: string): Promise<ProjectQueue> {
    let q = this.queues.get(projectId);
    if (!q) {
      q = (async () => {
        const p = await getProject(this.db, projectId);
        if (!p) throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(projectId)}`);
        return ProjectQueue.load(p, this.db, this.leases, this.ids);
      })();
      this.queues.set(projectId, q);
      q.catch(() => this.queues.delete(projectId));
    }
    return q;
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
