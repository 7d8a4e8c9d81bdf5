/** Small helpers shared by the collection queries. */
import { randomBytes } from "node:crypto";

/** An opaque random identifier with a readable prefix (`u_…`, `p_…`): 96 random bits. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

/** True for a UNIQUE or PRIMARY KEY violation in either dialect. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    code === "23505" ||
    code === "SQLITE_CONSTRAINT_UNIQUE" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  );
}
