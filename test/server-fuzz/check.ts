/**
 * What every answer to a fuzzed request must be, whatever was sent: no server error (but a
 * documented busy state), every refusal in the service's error shape with a KEEL_E_* code, a
 * schema refusal naming the field at fault, and nothing untrusted echoed into HTML.
 */
import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { type BodyCase, MARK } from "./arbitraries.js";

export interface Sent {
  readonly method: string;
  readonly url: string;
  readonly actor: string;
  readonly body: BodyCase;
  /** The path parameters (decoded) and query pass the route's schemas. */
  readonly paramsValid: boolean;
}

export interface Envelope {
  /** keel's `{error: {code, message, where?}}` or OpenAI's `{error: {message, type, param, code}}`. */
  readonly shape: "keel" | "openai";
  /** Error codes a 5xx may carry (documented busy states). */
  readonly busy?: readonly string[];
  /** What a field's name starts with ("body." in keel serve's; nothing where zod names it). */
  readonly bodyPrefix?: string;
}

const CODE = /^KEEL_E_[A-Z_]+$/;

/** A readable account of a request for a failing assertion. */
export function describeSent(s: Sent): string {
  const p = s.body.payload;
  const text =
    p === undefined ? "(none)" : typeof p === "string" ? p : `bytes ${p.toString("hex")}`;
  return `${s.method} ${s.url.slice(0, 300)} as ${s.actor}; body ${s.body.kind} [${s.body.contentType ?? "no type"}] ${text.slice(0, 300)}`;
}

export function checkAnswer(r: LightMyRequestResponse, sent: Sent, env: Envelope): void {
  const what = `${describeSent(sent)} → ${r.statusCode} ${r.body.slice(0, 500)}`;
  const type = String(r.headers["content-type"] ?? "");
  // What a browser would render as a page (JSON and event streams it does not).
  if (type === "" || /html|xml/.test(type)) {
    expect(r.body, `untrusted text echoed into ${type}: ${what}`).not.toContain(MARK);
    expect(r.body, `markup echoed into ${type}: ${what}`).not.toMatch(/<img|<script|onerror=/i);
  }
  if (r.statusCode < 400) {
    if (sent.body.expectField !== undefined && sent.paramsValid)
      expect.fail(`a body with a fault at ${sent.body.expectField} was accepted: ${what}`);
    return;
  }
  if (sent.method === "HEAD") {
    expect(r.statusCode, what).toBeLessThan(500);
    return;
  }
  expect(type, `an error answered as ${type}: ${what}`).toMatch(/^application\/json/);
  const body = r.json() as {
    error?: { code?: unknown; message?: unknown; where?: { field?: unknown }; param?: unknown };
  };
  const e = body.error;
  expect(e, `no error envelope: ${what}`).toBeTypeOf("object");
  expect(e!.code, `no KEEL_E_* code: ${what}`).toMatch(CODE);
  expect(e!.message, what).toBeTypeOf("string");
  if (r.statusCode >= 500) {
    expect(env.busy ?? [], `a server error: ${what}`).toContain(e!.code);
    return;
  }
  if (env.shape === "openai")
    expect(e!.param === null || typeof e!.param === "string", what).toBe(true);
  const want = sent.body.expectField;
  if (want === undefined || !sent.paramsValid) return;
  // Authentication, limits and the body's size are checked before its content.
  if ([401, 403, 413, 429].includes(r.statusCode)) return;
  expect(r.statusCode, `a fault at ${want} not answered 400: ${what}`).toBe(400);
  expect(e!.code, what).toBe("KEEL_E_INVALID_RECORD");
  const field = env.shape === "keel" ? e!.where?.field : e!.param;
  const named = want.replace(/^body\./, env.bodyPrefix ?? "body.");
  if (env.shape === "openai" && sent.body.kind === "extra") {
    // OpenAI's own API names no param for an unrecognized argument (keel names the object that
    // holds it, if nested): the message names it.
    const key = named.split(".").at(-1)!;
    const parent = named.split(".").slice(0, -1).join(".");
    expect([null, parent], `the refusal names another field: ${what}`).toContain(field);
    expect(e!.message, `the refusal does not name the unknown field: ${what}`).toContain(
      JSON.stringify(key),
    );
    return;
  }
  if (sent.body.kind === "drop" && env.shape !== "keel" && field !== named) {
    // A missing field is reported at the object that misses it, its name in the message (keel
    // serve names the field itself).
    const key = named.split(".").at(-1)!;
    expect(field, `the refusal names another field: ${what}`).toBe(
      named.split(".").slice(0, -1).join("."),
    );
    expect(e!.message, `the refusal does not name the missing field: ${what}`).toContain(key);
    return;
  }
  expect(field, `the refusal does not name the field at fault (${named}): ${what}`).toBe(named);
}
