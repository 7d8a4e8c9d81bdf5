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

/**
 * The first string in `value` that a store could not keep, with its path ("items.3.prompt").
 * Walked with a stack of its own, not by recursion: JSON nested a few thousand levels deep fits
 * in the smallest body limit, and recursion that deep overflowed the call stack (a 500).
 */
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
  const join = (base: string, k: string) => (base === "" ? k : `${base}.${k}`);
  // Depth first, in document order: the last pushed is looked at first.
  const todo: [unknown, string][] = [[value, path]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [v, at] = next;
    if (typeof v === "string") {
      const bad = check(v, at);
      if (bad) return bad;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) todo.push([v[i], join(at, String(i))]);
    } else if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v);
      for (const [k] of entries) {
        const badKey = check(k, join(at, k));
        if (badKey) return { ...badKey, message: `(the key) ${badKey.message}` };
      }
      for (let i = entries.length - 1; i >= 0; i--)
        todo.push([entries[i]![1], join(at, entries[i]![0])]);
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
