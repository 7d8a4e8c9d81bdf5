/**
 * Roles, from least to most privileged: rater (judges assigned tasks), reviewer (reads scores,
 * judgments and exports; decides the review queue), admin (projects, items, raters and
 * reviewers, invitations), owner (also admins and owners). Nobody grants a role above their own
 * or changes their own role; admins grant only rater and reviewer.
 */
import type { Role } from "../../store/collection/schema.js";

const LEVEL: Record<Role, number> = { rater: 0, reviewer: 1, admin: 2, owner: 3 };

export function atLeast(role: Role, min: Role): boolean {
  return LEVEL[role] >= LEVEL[min];
}

/** May a user with role `actor` create (or invite, or promote to) a user with role `target`? */
export function canGrant(actor: Role, target: Role): boolean {
  if (actor === "owner") return true;
  if (actor === "admin") return target === "rater" || target === "reviewer";
  return false;
}

/** May `actor` change or disable a user who currently has role `target`? */
export function canManage(actor: Role, target: Role): boolean {
  return canGrant(actor, target);
}
