/**
 * 405 Method Not Allowed (RFC 9110 §15.5.6) for a path that routes serve with other methods,
 * where all three servers said 404, as if the path were wrong. The methods are looked up in
 * Fastify's own router with the request's path (parametric routes match as they do for
 * requests), so the `Allow` header cannot drift from the routes; HEAD is among them wherever
 * GET is, as Fastify serves it. A path no route serves is still not found. Each server answers
 * in its own error shape, with KEEL_E_INVALID_RECORD as for its other statuses the catalogue
 * has no code of (415, 412, 416): the request, not the path, is wrong.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";

/**
 * The methods the routes of `app` accept at the request's path, in alphabetical order; none
 * when no route serves the path, or when one serves the request's own method (a route that
 * called `callNotFound`, such as a web app file removed since the server started).
 */
export function allowedMethods(app: FastifyInstance, req: FastifyRequest): string[] {
  const allowed = app.supportedMethods.filter(
    (method) => app.findRoute({ method: method as HTTPMethods, url: req.url }) !== null,
  );
  return allowed.includes(req.method) ? [] : allowed.sort();
}

/** The 405 in keel's error shape (`keel serve`, `keel serve-rm`), status and `Allow` set. */
export function keelMethodNotAllowed(
  req: FastifyRequest,
  reply: FastifyReply,
  allowed: readonly string[],
): { error: { code: "KEEL_E_INVALID_RECORD"; message: string } } {
  return {
    error: { code: "KEEL_E_INVALID_RECORD", message: methodNotAllowed(req, reply, allowed) },
  };
}

/** Sets the 405 status and its `Allow` header; returns the message for the server's body. */
export function methodNotAllowed(
  req: FastifyRequest,
  reply: FastifyReply,
  allowed: readonly string[],
): string {
  reply.status(405).header("allow", allowed.join(", "));
  return `${req.method} is not allowed on ${req.url.split("?")[0]}; it accepts ${allowed.join(", ")}`;
}
