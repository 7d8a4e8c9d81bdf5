/** What the outputs of a command that reads judgments or labels must not replace. */
import { type ProtectedFile, sqliteFiles } from "../../io/output-target.js";
import { isPostgresUrl } from "../../store/store.js";

/**
 * The input files of a command that reads judgments or labels from `--in` (a file; `-` is stdin)
 * or else `--db` (a SQLite store's files; PostgreSQL has none), and `--gold`: what its outputs
 * must not replace. `what` names what is read, for the refusal.
 */
export function sourceFiles(
  o: { readonly in?: string; readonly db?: string; readonly gold?: string },
  what: string,
): ProtectedFile[] {
  return [
    ...(o.in !== undefined && o.in !== "-" ? [{ path: o.in, what: `the ${what} being read` }] : []),
    ...(o.in === undefined && o.db !== undefined && !isPostgresUrl(o.db)
      ? sqliteFiles(o.db, "the feedback store being read")
      : []),
    ...(o.gold !== undefined ? [{ path: o.gold, what: "the gold answers" }] : []),
  ];
}
