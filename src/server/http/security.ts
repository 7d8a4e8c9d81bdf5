/**
 * Response headers that make the browser treat everything as inert unless it is our own
 * script: a strict Content-Security-Policy (no inline script, no inline event handlers, no
 * foreign origins — an injected `<script>` or `<img onerror>` would not run even if it reached
 * the DOM), no MIME sniffing, no framing, no referrer; API answers are never cached.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Sets the headers on one reply (the hook below does it for every routed request). */
export function setSecurityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  reply.header("content-security-policy", CSP);
  reply.header("x-content-type-options", "nosniff");
  reply.header("x-frame-options", "DENY");
  reply.header("referrer-policy", "no-referrer");
  reply.header("cross-origin-opener-policy", "same-origin");
  if (req.url.startsWith("/api/")) reply.header("cache-control", "no-store");
}

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook("onSend", async (req, reply, payload) => {
    setSecurityHeaders(req, reply);
    return payload;
  });
}
