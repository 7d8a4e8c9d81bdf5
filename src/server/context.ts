/**
 * What every plugin of the server is given: the store, the shared services behind their
 * interfaces (leases, rate limits), the task queues and the group committer, and the clock.
 */

import type { CollectionDb, Role } from "../store/collection/index.js";
import type { FeedbackStore } from "../store/store.js";
import type { RateLimitStore } from "./limits/rate-limit.js";
import type { ResolvedOptions } from "./options.js";
import type { ScoreBoard } from "./scores/board.js";
import type { GroupCommitter } from "./tasks/commit.js";
import type { LeaseStore } from "./tasks/leases.js";
import type { QueueRegistry } from "./tasks/registry.js";
import type { TaskIds } from "./tasks/task-id.js";

export interface ServerContext {
  readonly store: FeedbackStore;
  readonly db: CollectionDb;
  readonly options: ResolvedOptions;
  readonly leases: LeaseStore;
  readonly limits: RateLimitStore;
  readonly ids: TaskIds;
  readonly committer: GroupCommitter;
  readonly queues: QueueRegistry;
  readonly scores: ScoreBoard;
  readonly now: () => Date;
}

/** The authenticated user of a request. */
export interface AuthUser {
  readonly user_id: string;
  readonly login: string;
  readonly display_name: string;
  readonly role: Role;
}

/**
 * Who may call a route: anyone ("public"), any signed-in user ("user"), or users with at least
 * the given role. Project routes check membership on top of this.
 */
export type Access = "public" | "user" | Role;

declare module "fastify" {
  interface FastifyRequest {
    user: AuthUser | null;
    /** How the user authenticated: a session cookie (CSRF-checked) or an API token. */
    authKind: "session" | "token" | null;
    /** The session cookie's secret, when authenticated by one (for logout). */
    sessionToken: string | null;
  }
  interface FastifySchema {
    /** One line for the OpenAPI description. */
    summary?: string;
    tags?: string[];
    /** Left out of the OpenAPI description. */
    hide?: boolean;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** Rate-limit bucket family for this route beyond the per-address and per-user ones. */
    limit?: "login";
    /** Left out of the OpenAPI description. */
    hidden?: boolean;
  }
}
