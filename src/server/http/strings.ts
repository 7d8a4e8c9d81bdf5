/**
 * Every string a request body carries, keys included, must be text the stores keep exactly:
 * no lone UTF-16 surrogate (JSON can spell one, UTF-8 cannot: SQLite would store U+FFFD in its
 * place, and a judgment's rationale hashed before that change would break the ledger's chain)
 * and no NUL (PostgreSQL refuses it). Checked once for all routes, before their schemas, so a
 * field added later cannot forget it.
 */
import type { FastifyInstance } from "fastify";
import { KeelError } from "../../core/errors.js";
import { isWellFormed } from "../../core/schemas.js";

/** The first string in `value` that a store could not keep, with its path ("items.3.prompt"). */
export function unstorableString(
  value: unknown,
  path = "",
): { field: string; message: string } | undefined {
  const check = (s: string, at: string) => {
    if (!isWellFormed(s))
      return {
        field: at,
        message: "must be valid Unicode text (it holds a lone UTF-16 surrogate)",
      };
    if (s.includes("\u0000")) return { field: at, message: "must not contain NUL characters" };
    return undefined;
  };
  const join = (k: string) => (path === "" ? k : `${path}.${k}`);
  if (typeof value === "string") return check(value, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = unstorableString(value[i], join(String(i)));
      if (bad) return bad;
    }
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const badKey = check(k, join(k));
      if (badKey) return { ...badKey, message: `(the key) ${badKey.message}` };
      const bad = unstorableString(v, join(k));
      if (bad) return bad;
    }
  }
  return undefined;
}

export function registerStringCheck(app: FastifyInstance): void {
  app.addHook("preValidation", async (req) => {
    if (req.body === undefined || req.body === null) return;
    const bad = unstorableString(req.body);
    if (!bad) return;
    const field = bad.field === "" ? "body" : `body.${bad.field}`;
    throw new KeelError("KEEL_E_INVALID_RECORD", `${field}: ${bad.message}`, {
      where: { field },
    });
  });
}
