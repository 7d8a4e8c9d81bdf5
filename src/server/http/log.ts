/**
 * What the server's log records of a request: Fastify's own fields, with the one secret a URL
 * carries hidden. An invitation's token is its path (`GET /api/invitations/<token>`,
 * `POST …/<token>/accept`, the web app's `/invite/<token>`), so whoever reads the log could
 * otherwise take up an open invitation; withdrawing one (`DELETE /api/invitations/<id>`) names
 * its id, which is no secret and stays.
 */
import type { FastifyRequest } from "fastify";

const INVITATION_PATH = /^(\/(?:api\/invitations|invite)\/)[^/?#]+/;

/** `url` with an invitation token in its path replaced by `***`. */
export function loggedUrl(method: string, url: string): string {
  return method === "DELETE" ? url : url.replace(INVITATION_PATH, "$1***");
}

/** Pino's `req` serializer: Fastify's default fields, the URL as `loggedUrl` gives it. */
export function requestForLog(req: FastifyRequest) {
  return {
    method: req.method,
    url: loggedUrl(req.method, req.url),
    version: req.headers?.["accept-version"],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
