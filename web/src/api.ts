/**
 * The API client: JSON over fetch with the session cookie, and the CSRF token (kept in memory
 * only, never in storage) on every state-changing request. Errors come back as ApiError with
 * the server's catalogue code.
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

export function setCsrf(token: string | null): void {
  csrf = token;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? "KEEL_E_INTERNAL", e?.message ?? res.statusText);
  }
  return data as T;
}

export function isStaff(u: User | null): boolean {
  return u !== null && u.role !== "rater";
}
