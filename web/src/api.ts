/**
 * The API client: JSON over fetch with the session cookie, and the CSRF token (kept in memory
 * only, never in storage) on every state-changing request. Errors come back as ApiError with
 * the server's catalogue code and message; when no answer came (the network failed) the status
 * is 0 and the code "network", and an answer that is not the server's JSON (a proxy's HTML
 * error page) is named by its status, so every failure has a message a user can act on. A
 * refusal to go faster (429, or 503 with Retry-After) says how long to wait, in seconds.
 */
export type Content = string | { role: string; content: string }[];

export interface User {
  user_id: string;
  login: string;
  display_name: string;
  role: "owner" | "admin" | "reviewer" | "rater";
}

export interface Task {
  task_id: string;
  prompt: Content;
  left: Content;
  right: Content;
  expires_at: string;
}

export interface Progress {
  judged: number;
  skipped: number;
  total: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let userId: string | null = null;

/** The signed-in user's CSRF token and id (null, null when signed out). */
export function setCsrf(token: string | null, user: string | null): void {
  csrf = token;
  userId = user;
}

let sessionEnded: (() => void) | null = null;

/**
 * Called when a signed-in request is answered 401 (the session expired, was ended by a sign-out
 * elsewhere, or the user was disabled), so the app can ask for the password again without
 * leaving the page and losing what is on it.
 */
export function onSessionEnd(fn: (() => void) | null): void {
  sessionEnded = fn;
}

/** Requests whose 401 means "not signed in yet" or "wrong password", not a lost session. */
const SIGN_IN = /^\/api\/(me|session|invitations\/)/;

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await request<T>(method, path, body);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403 && method !== "GET" && (await refreshCsrf()))
      return request<T>(method, path, body);
    throw e;
  }
}

/**
 * After a sign-out and sign-in in another tab, the shared cookie names a new session whose CSRF
 * token this tab has never seen, and every change it sends is refused (403). If the session is
 * still this user's, take its token (true: send again); if another user signed in there, this
 * tab's session has ended.
 */
async function refreshCsrf(): Promise<boolean> {
  const me = await request<{ user: { user_id: string }; csrf_token: string | null }>(
    "GET",
    "/api/me",
  ).catch(() => undefined);
  if (!me || me.csrf_token === null || me.csrf_token === csrf) return false;
  if (me.user.user_id !== userId) {
    sessionEnded?.();
    return false;
  }
  csrf = me.csrf_token;
  return true;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(
      0,
      "network",
      "the server cannot be reached; check the connection and try again",
    );
  }
  const text = await res.text();
  // A proxy or gateway in front of the server may answer with HTML: that is an error too.
  let data: unknown;
  try {
    data = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    data = undefined;
    if (res.ok)
      throw new ApiError(
        res.status,
        "KEEL_E_INTERNAL",
        "the server sent an answer that is not JSON",
      );
  }
  if (!res.ok) {
    if (res.status === 401 && !SIGN_IN.test(path)) sessionEnded?.();
    const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    const answered = `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
    const wait = waitSeconds(res.headers.get("retry-after"));
    let message = e?.message ?? `${answered}; try again`;
    if (res.status === 429)
      message = `too many requests; wait ${wait === undefined ? "a moment" : `${wait} s`}, then try again`;
    else if (wait !== undefined && !e?.message)
      message = `${answered}; wait ${wait} s, then try again`;
    throw new ApiError(res.status, e?.code ?? "KEEL_E_INTERNAL", message);
  }
  return data as T;
}

/** Retry-After in whole seconds (at least 1): a number of seconds or an HTTP date. */
function waitSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim())
    ? Number(header.trim()) * 1000
    : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : undefined;
}

export function isStaff(u: User | null): boolean {
  return u !== null && u.role !== "rater";
}
