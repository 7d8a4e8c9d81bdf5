/**
 * What the server's log records of a request: Fastify's own fields, with the one secret a URL
 * carries hidden. An invitation's token is its path (`GET /api/invitations/<token>`,
 * `POST …/<token>/accept`, the web app's `/invite/<token>`), so whoever reads the log could
 * otherwise take up an open invitation; withdrawing one (`DELETE /api/invitations/<id>`) names
 * its id, which is no secret and stays.
 */
import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

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

/**
 * One log line per request, written when its answer has gone out, with the request, the status
 * and the time taken. Fastify's own controller writes two: the request as it arrives, then a
 * "request completed" line that names neither the method nor the URL, only a request id.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    logCompleted(request, reply, error);
  }
}

/** The one line of a request whose answer has gone out. */
function logCompleted(req: FastifyRequest, reply: FastifyReply, error?: Error | null): void {
  const line = { req, res: reply, responseTime: reply.elapsedTime };
  if (error) reply.log.error({ ...line, err: error }, "request errored");
  else reply.log.info(line, "request completed");
}

/**
 * The line for a request Fastify refuses before routing (a malformed or over-long URL), whose
 * answer does not reach the controller above.
 */
export function logWhenSent(req: FastifyRequest, reply: FastifyReply): void {
  reply.raw.once("finish", () => logCompleted(req, reply));
}
