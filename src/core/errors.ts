/**
 * The one error catalogue. Every error keel raises on purpose has a code here, a CLI exit code
 * (sysexits-style where one fits) and an HTTP status for the server. Messages say what was
 * wrong, where (file:line, field, id) and, when we know it, what to do.
 */

export interface ErrorSpec {
  readonly exit: number;
  readonly http: number;
  readonly title: string;
}

export const ERROR_CATALOGUE = {
  KEEL_E_USAGE: { exit: 64, http: 400, title: "bad command-line usage" },
  KEEL_E_CONFIG: { exit: 78, http: 400, title: "invalid configuration" },
  KEEL_E_INVALID_RECORD: { exit: 65, http: 400, title: "invalid record in input" },
  KEEL_E_UNKNOWN_FORMAT: { exit: 65, http: 400, title: "unknown or undetectable format" },
  KEEL_E_CONFLICT: { exit: 65, http: 409, title: "conflicting data" },
  KEEL_E_DUPLICATE: { exit: 65, http: 409, title: "duplicate" },
  KEEL_E_FILE: { exit: 66, http: 404, title: "cannot read or write file" },
  KEEL_E_NOT_FOUND: { exit: 66, http: 404, title: "not found" },
  KEEL_E_STORE: { exit: 74, http: 503, title: "feedback store unavailable" },
  KEEL_E_STORE_SCHEMA: { exit: 70, http: 500, title: "feedback store schema mismatch" },
  KEEL_E_LEDGER_BROKEN: { exit: 65, http: 500, title: "judgment ledger failed verification" },
  KEEL_E_NOT_CONNECTED: { exit: 65, http: 422, title: "comparison graph is not connected" },
  KEEL_E_NUMERIC: { exit: 70, http: 500, title: "numerical failure" },
  KEEL_E_SHAPE: { exit: 70, http: 500, title: "tensor shape mismatch" },
  KEEL_E_UNSUPPORTED: { exit: 70, http: 501, title: "unsupported operation" },
  KEEL_E_CHECKPOINT: { exit: 65, http: 500, title: "invalid checkpoint" },
  KEEL_E_UNAUTHORIZED: { exit: 77, http: 401, title: "authentication required" },
  KEEL_E_FORBIDDEN: { exit: 77, http: 403, title: "not allowed" },
  KEEL_E_RATE_LIMITED: { exit: 75, http: 429, title: "rate limit exceeded" },
  KEEL_E_TOO_LARGE: { exit: 65, http: 413, title: "payload too large" },
  KEEL_E_UPSTREAM: { exit: 69, http: 502, title: "upstream service failed" },
  KEEL_E_TIMEOUT: { exit: 75, http: 503, title: "timed out; try again" },
  KEEL_E_BUSY: {
    exit: 75,
    http: 503,
    title: "busy (a server, or another keel command on the same directory); try again",
  },
  KEEL_E_SAFEGUARD: { exit: 3, http: 500, title: "a safeguard stopped the run" },
  KEEL_E_INTERRUPTED: { exit: 130, http: 499, title: "interrupted; a checkpoint was saved" },
  KEEL_E_INTERNAL: { exit: 70, http: 500, title: "internal error" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Where a problem is: any subset of file, line, field and the id of the offending object. */
export interface Where {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  readonly id?: string;
}

/** Renders `file:line: field` (or whichever parts are known), the prefix of located messages. */
export function formatWhere(where: Where): string {
  const parts: string[] = [];
  if (where.file !== undefined) {
    parts.push(where.line !== undefined ? `${where.file}:${where.line}` : where.file);
  } else if (where.line !== undefined) {
    parts.push(`line ${where.line}`);
  }
  if (where.id !== undefined) parts.push(`id ${JSON.stringify(where.id)}`);
  if (where.field !== undefined && where.field !== "") parts.push(where.field);
  return parts.join(": ");
}

export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly httpStatus: number;
  readonly where: Where | undefined;
  readonly hint: string | undefined;
  /** The message without its `where` prefix. */
  readonly detail: string;

  constructor(
    code: ErrorCode,
    message: string,
    options: { where?: Where; hint?: string; cause?: unknown } = {},
  ) {
    const prefix = options.where ? formatWhere(options.where) : "";
    super(prefix ? `${prefix}: ${message}` : message, { cause: options.cause });
    this.name = "KeelError";
    this.detail = message;
    this.code = code;
    this.exitCode = ERROR_CATALOGUE[code].exit;
    this.httpStatus = ERROR_CATALOGUE[code].http;
    this.where = options.where;
    this.hint = options.hint;
  }

  /** The same error with another hint. */
  withHint(hint: string): KeelError {
    return new KeelError(this.code, this.detail, {
      ...(this.where ? { where: this.where } : {}),
      hint,
      cause: this.cause,
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.where ? { where: this.where } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

export function isKeelError(e: unknown): e is KeelError {
  return e instanceof KeelError;
}

/** The serialisable form of a KeelError (for worker threads and HTTP), and its revival. */
export interface KeelErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly where?: Where;
  readonly hint?: string;
}

export function keelErrorData(e: KeelError): KeelErrorData {
  return {
    code: e.code,
    message: e.message,
    ...(e.where ? { where: e.where } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
  };
}

/**
 * Rebuilds a KeelError with exactly the original message (no second location prefix) and,
 * when the message starts with its location as usual, the original `detail`, so that
 * `withHint` or a caller that relocates the error does not repeat the location.
 */
export function reviveKeelError(d: KeelErrorData, cause?: unknown): KeelError {
  const extra = { ...(d.hint ? { hint: d.hint } : {}), ...(cause !== undefined ? { cause } : {}) };
  const prefix = d.where ? `${formatWhere(d.where)}: ` : "";
  if (d.where && prefix !== ": " && d.message.startsWith(prefix))
    return new KeelError(d.code, d.message.slice(prefix.length), { where: d.where, ...extra });
  const e = new KeelError(d.code, d.message, extra);
  if (d.where) Object.defineProperty(e, "where", { value: d.where });
  return e;
}

/**
 * A thrown value as the catalogue error it is, or undefined for an unexpected one. A KeelError
 * thrown uncaught in a worker thread (a store that fails to open as the worker starts) reaches
 * the main thread through the worker's `error` event as a plain Error that still carries the
 * KeelError's name, code, where and hint: it is revived, so that it keeps its code, exit code
 * and HTTP status instead of being reported as an internal error.
 */
export function asCatalogueError(e: unknown): KeelError | undefined {
  if (e instanceof KeelError) return e;
  if (!(e instanceof Error) || e.name !== "KeelError") return undefined;
  const { code, where, hint } = e as Error & { code?: unknown; where?: unknown; hint?: unknown };
  if (typeof code !== "string" || !Object.hasOwn(ERROR_CATALOGUE, code)) return undefined;
  const data: KeelErrorData = {
    code: code as ErrorCode,
    message: e.message,
    ...(typeof where === "object" && where !== null ? { where: where as Where } : {}),
    ...(typeof hint === "string" && hint !== "" ? { hint } : {}),
  };
  return reviveKeelError(data, e);
}
