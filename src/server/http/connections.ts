/**
 * The server's connections as production sees them: whose address a request comes from behind
 * a reverse proxy, how long a client may take to send its request, what a request that arrives
 * while the server shuts down is answered, and the answer to what Node refuses before Fastify
 * sees a request (headers too large, a request not sent in time, bytes that are not HTTP). Every
 * answer is in keel's error shape, not Fastify's.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { ErrorCode } from "../../core/errors.js";

/**
 * How long a client may take to send one whole request, headers and body (Fastify's default, 0,
 * let a client that sent half a body hold its connection, and a shutdown, forever). An items
 * upload of 16 MiB, the largest body, needs about 1.2 Mbit/s to arrive in time.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

/**
 * How long a client may take to send a request's headers, counted from when the connection
 * opened or the request's first byte arrived (never more than the request timeout). This is
 * also what bounds a connection that sends nothing at all: Node counts a new connection as a
 * request begun, so a silent one, or one that dribbles its headers a byte at a time, is
 * answered 408 and closed once this has passed (at the next connection check, every 30 s).
 * Between requests, an idle keep-alive connection is closed after Fastify's keep-alive timeout
 * (72 s). There is no cap on the number of connections (Node's default): a cap that silent
 * connections could fill would turn raters away just the same, so each one's time is bounded
 * instead; in front of keel, a reverse proxy should bound connections per client.
 */
export const HEADERS_TIMEOUT_MS = 60_000;

/**
 * `--trust-proxy`: the address a request comes from is the one the proxy in front of keel saw,
 * the last entry of X-Forwarded-For (the one that proxy added), not the first. The first is
 * whatever the client wrote there, and trusting every hop (Fastify's `trustProxy: true`) let a
 * client behind the proxy name any address, a new one per request, past the per-address limits.
 */
export function nearestProxyOnly(_address: string, hop: number): boolean {
  return hop === 0;
}

/**
 * A server's error body for a catalogue code, a message fit for the caller and the status:
 * keel's own shape by default; serve-model answers in OpenAI's (src/server/openai/respond.ts).
 */
export type ErrorBodyOf = (code: ErrorCode, message: string, status: number) => object;

export const keelErrorBody: ErrorBodyOf = (code, message) => ({ error: { code, message } });

/**
 * The settings of Fastify's server that bound how long a client may take to send its request,
 * for a request timeout in milliseconds (REQUEST_TIMEOUT_MS in production; tests shorten it).
 * Without them (Fastify's default) a request whose body never finished arriving held its
 * connection, and in serve-model and serve-rm its place among the requests admitted at once,
 * for as long as the client liked.
 */
export function requestTimeouts(requestTimeoutMs = REQUEST_TIMEOUT_MS) {
  return {
    requestTimeout: requestTimeoutMs,
    // Given to Node's server as it is made too: lowered afterwards, as Fastify sets it, Node
    // kept its default. Node looks for requests past their time every 30 s (or sooner in
    // tests). The headers timeout is set, not left to Node's default, because it is what
    // closes a connection that never sends a request (see HEADERS_TIMEOUT_MS).
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, requestTimeoutMs),
    },
  };
}

/**
 * Once the server starts closing, a request that still arrives (on a keep-alive connection, or
 * pipelined behind one in flight) is answered 503 `KEEL_E_BUSY` with `Connection: close`: send
 * it again, to another process or to this one once it is back. Requests already being handled
 * finish, and their connections close after the answer; an acknowledged judgment was committed
 * before its answer. Register before the other hooks, so that nothing else (authentication,
 * rate limits) runs for a request turned away.
 */
export function registerClosing(app: FastifyInstance, body: ErrorBodyOf = keelErrorBody): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // A request in flight when the shutdown starts is answered, and then its connection closed:
  // kept alive, it would hold the shutdown until the keep-alive timeout (72 s).
  app.addHook("onSend", async (_req, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });
  app.addHook("onRequest", async (_req, reply) => {
    if (!closing) return;
    reply.header("connection", "close").header("retry-after", "1");
    return reply
      .status(503)
      .send(
        body(
          "KEEL_E_BUSY",
          "the server is shutting down; send the request again (another server, or this one once restarted, will answer it)",
          503,
        ),
      );
  });
}

const CLIENT_ERRORS: Record<string, readonly [number, ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    "KEEL_E_TIMEOUT",
    "the request did not arrive whole in time; send it again",
  ],
  HPE_HEADER_OVERFLOW: [
    431,
    "KEEL_E_TOO_LARGE",
    "the request's URL and headers are larger than the server accepts (16 KiB)",
  ],
};

/**
 * A Fastify `clientErrorHandler`: Node's refusals before a request is parsed, answered in the
 * server's error shape on the raw socket, which is then closed.
 */
export function clientErrorAs(shape: ErrorBodyOf) {
  return function clientError(
    this: { log: FastifyBaseLogger },
    err: NodeJS.ErrnoException,
    socket: Duplex,
  ): void {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    const [status, code, message] = CLIENT_ERRORS[err.code ?? ""] ?? [
      400,
      "KEEL_E_INVALID_RECORD",
      "the request is not well-formed HTTP",
    ];
    this.log.debug({ err }, "client error");
    if (socket.writable) writeRaw(socket, status, JSON.stringify(shape(code, message, status)));
    socket.destroy(err);
  };
}

/** keel serve's: keel's error shape. */
export const clientError = clientErrorAs(keelErrorBody);

function writeRaw(socket: Duplex, status: number, body: string): void {
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
