/**
 * Credentials at rest: browser sessions, API tokens and invitations. Each is a random secret
 * handed to its holder once; the store keeps only its SHA-256 digest (`token_hash`), so a copy
 * of the database lets nobody log in.
 */

import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../core/digest.js";
import type { CollectionDb, InvitationsTable, Role } from "./schema.js";
import { newId } from "./util.js";

/** A fresh 256-bit secret, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function secretHash(secret: string): string {
  return sha256Hex(`keel-secret:${secret}`);
}

export interface SessionRecord {
  readonly user_id: string;
  readonly csrf_token: string;
  readonly expires_at: string;
}

export async function createSession(
  db: CollectionDb,
  userId: string,
  now: Date,
  ttlMs: number,
): Promise<{ token: string; csrf: string; expires_at: string }> {
  const token = newSecret();
  const csrf = newSecret();
  const expires_at = new Date(now.getTime() + ttlMs).toISOString();
  await db
    .insertInto("sessions")
    .values({
      token_hash: secretHash(token),
      user_id: userId,
      csrf_token: csrf,
      created_at: now.toISOString(),
      expires_at,
    })
    .execute();
  return { token, csrf, expires_at };
}

export async function findSession(
  db: CollectionDb,
  token: string,
): Promise<SessionRecord | undefined> {
  return db
    .selectFrom("sessions")
    .select(["user_id", "csrf_token", "expires_at"])
    .where("token_hash", "=", secretHash(token))
    .executeTakeFirst();
}

export async function deleteSession(db: CollectionDb, token: string): Promise<void> {
  await db.deleteFrom("sessions").where("token_hash", "=", secretHash(token)).execute();
}

export async function deleteUserSessions(db: CollectionDb, userId: string): Promise<void> {
  await db.deleteFrom("sessions").where("user_id", "=", userId).execute();
}

/** Deletes expired sessions: a user's (by the `sessions_user` index), or everyone's. */
export async function deleteExpiredSessions(
  db: CollectionDb,
  now: Date,
  userId?: string,
): Promise<void> {
  let q = db.deleteFrom("sessions").where("expires_at", "<=", now.toISOString());
  if (userId !== undefined) q = q.where("user_id", "=", userId);
  await q.execute();
}

export interface ApiTokenInfo {
  readonly token_id: string;
  readonly user_id: string;
  readonly name: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

export async function createApiToken(
  db: CollectionDb,
  userId: string,
  name: string,
  now: Date,
): Promise<{ token: string; info: ApiTokenInfo }> {
  const secret = newSecret();
  const token = `keel_${secret}`;
  const info: ApiTokenInfo = {
    token_id: newId("t"),
    user_id: userId,
    name,
    created_at: now.toISOString(),
    revoked_at: null,
  };
  await db
    .insertInto("api_tokens")
    .values({ ...info, token_hash: secretHash(token) })
    .execute();
  return { token, info };
}

export async function findApiToken(
  db: CollectionDb,
  token: string,
): Promise<ApiTokenInfo | undefined> {
  return db
    .selectFrom("api_tokens")
    .select(["token_id", "user_id", "name", "created_at", "revoked_at"])
    .where("token_hash", "=", secretHash(token))
    .executeTakeFirst();
}

export async function listApiTokens(db: CollectionDb, userId: string): Promise<ApiTokenInfo[]> {
  return db
    .selectFrom("api_tokens")
    .select(["token_id", "user_id", "name", "created_at", "revoked_at"])
    .where("user_id", "=", userId)
    .orderBy("created_at")
    .execute();
}

/** Revokes a token of `userId`; false when that user has no such live token. */
export async function revokeApiToken(
  db: CollectionDb,
  userId: string,
  tokenId: string,
  now: Date,
): Promise<boolean> {
  const r = await db
    .updateTable("api_tokens")
    .set({ revoked_at: now.toISOString() })
    .where("token_id", "=", tokenId)
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export type Invitation = Omit<InvitationsTable, "token_hash">;

export async function createInvitation(
  db: CollectionDb,
  inv: { role: Role; project_id: string | null; created_by: string | null },
  now: Date,
  ttlMs: number,
): Promise<{ token: string; invitation: Invitation }> {
  const token = newSecret();
  const invitation: Invitation = {
    invitation_id: newId("i"),
    role: inv.role,
    project_id: inv.project_id,
    created_by: inv.created_by,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ttlMs).toISOString(),
    accepted_at: null,
    accepted_user_id: null,
  };
  await db
    .insertInto("invitations")
    .values({ ...invitation, token_hash: secretHash(token) })
    .execute();
  return { token, invitation };
}

/** An invitation's columns, all but its token's hash. */
const INVITATION_COLUMNS = [
  "invitation_id",
  "role",
  "project_id",
  "created_by",
  "created_at",
  "expires_at",
  "accepted_at",
  "accepted_user_id",
] as const;

export async function findInvitation(
  db: CollectionDb,
  token: string,
): Promise<Invitation | undefined> {
  return db
    .selectFrom("invitations")
    .select(INVITATION_COLUMNS)
    .where("token_hash", "=", secretHash(token))
    .executeTakeFirst();
}

/**
 * Marks an open invitation used; false when it was already used (a concurrent accept won) or
 * has expired or been withdrawn (which sets its expiry to the moment) since it was read.
 */
export async function markInvitationAccepted(
  db: CollectionDb,
  invitationId: string,
  userId: string,
  now: Date,
): Promise<boolean> {
  const r = await db
    .updateTable("invitations")
    .set({ accepted_at: now.toISOString(), accepted_user_id: userId })
    .where("invitation_id", "=", invitationId)
    .where("accepted_at", "is", null)
    .where("expires_at", ">", now.toISOString())
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Withdraws an open invitation: it expires now (the row stays, for the record). False when
 * there is no such invitation, or it was used or had expired already.
 */
export async function withdrawInvitation(
  db: CollectionDb,
  invitationId: string,
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const r = await db
    .updateTable("invitations")
    .set({ expires_at: at })
    .where("invitation_id", "=", invitationId)
    .where("accepted_at", "is", null)
    .where("expires_at", ">", at)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function getInvitation(
  db: CollectionDb,
  invitationId: string,
): Promise<Invitation | undefined> {
  return db
    .selectFrom("invitations")
    .select(INVITATION_COLUMNS)
    .where("invitation_id", "=", invitationId)
    .executeTakeFirst();
}

export async function listInvitations(db: CollectionDb): Promise<Invitation[]> {
  return db
    .selectFrom("invitations")
    .select(INVITATION_COLUMNS)
    .orderBy("created_at", "desc")
    .execute();
}
