/**
 * Connection URLs fit for messages, logs and run records: the user kept, the password
 * replaced by `***`. PostgreSQL and Redis URLs may carry a password in the authority
 * (`postgres://user:secret@host/db`) or as a query parameter (`?password=…`, which both pg and
 * ioredis read); either is hidden. A store target that is not a URL (a SQLite file) is kept.
 */

/** Query parameters whose value is a credential. */
const SECRET_PARAM = /pass|secret|token|api[-_]?key/i;

/** `url` without its password; a URL the WHATWG parser refuses becomes `scheme://(unparseable URL)`. */
export function redactUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The authority cannot be told from the rest: nothing of it is shown.
    return `${scheme}://(unparseable URL)`;
  }
  const params = [...u.searchParams.keys()].filter((k) => SECRET_PARAM.test(k));
  // Nothing to hide: the URL as given, not as the parser would normalise it.
  if (!u.password && params.length === 0) return url;
  if (u.password) u.password = "***";
  for (const key of params) u.searchParams.set(key, "***");
  return u.toString();
}
