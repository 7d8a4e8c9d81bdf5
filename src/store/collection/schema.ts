/**
 * The collection service's tables (migration 0002), as Kysely sees them, and a typed handle
 * over the store's Kysely instance that knows both the ledger's tables and these.
 */
import type { Kysely } from "kysely";
import type { Choice } from "../../core/types.js";
import type { Database } from "../schema.js";
import type { FeedbackStore } from "../store.js";

export type Role = "owner" | "admin" | "reviewer" | "rater";
export const ROLES: readonly Role[] = ["owner", "admin", "reviewer", "rater"];

export type MemberStatus = "active" | "paused" | "excluded";
export type ItemKind = "task" | "quiz";
export type ReviewAction = "auto_pause" | "pause" | "reinstate" | "exclude";

export interface UsersTable {
  user_id: string;
  login: string;
  display_name: string;
  role: Role;
  password_hash: string | null;
  disabled: number;
  created_at: string;
}

export interface SessionsTable {
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  token_hash: string;
  token_id: string;
  user_id: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

export interface InvitationsTable {
  token_hash: string;
  invitation_id: string;
  role: Role;
  project_id: string | null;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_user_id: string | null;
}

export interface ProjectsTable {
  project_id: string;
  name: string;
  guidelines: string;
  overlap: number;
  gold_rate: number;
  lease_seconds: number;
  quiz_pass_rate: number;
  quiz_max_attempts: number;
  pause_gold_accuracy: number;
  pause_min_gold: number;
  seed: string;
  created_at: string;
}

export interface ProjectItemsTable {
  project_id: string;
  comparison_id: string;
  kind: ItemKind;
  batch: string;
  position: number;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  status: MemberStatus;
  status_reason: string | null;
  status_at: string;
  guidelines_ack_at: string | null;
  quiz_passed_at: string | null;
  quiz_attempts: number;
  added_at: string;
}

export interface QuizAnswersTable {
  project_id: string;
  user_id: string;
  attempt: number;
  comparison_id: string;
  choice: Choice;
  correct: number;
  answered_at: string;
}

export interface SkipsTable {
  project_id: string;
  user_id: string;
  comparison_id: string;
  reason: string;
  note: string | null;
  created_at: string;
}

export interface ReviewEventsTable {
  event_id: string;
  project_id: string;
  user_id: string;
  action: ReviewAction;
  actor_id: string | null;
  reason: string;
  created_at: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export type CollectionTables = {
  settings: SettingsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  invitations: InvitationsTable;
  projects: ProjectsTable;
  project_items: ProjectItemsTable;
  project_members: ProjectMembersTable;
  quiz_answers: QuizAnswersTable;
  skips: SkipsTable;
  review_events: ReviewEventsTable;
};

export type CollectionDb = Kysely<Database & CollectionTables>;

/** The store's Kysely instance, typed with the collection tables as well. */
export function collectionDb(store: FeedbackStore): CollectionDb {
  return store.db.withTables<CollectionTables>();
}
