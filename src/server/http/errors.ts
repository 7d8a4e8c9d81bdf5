/**
 * One error shape for every failing request, from the error catalogue:
 * `{ "error": { "code": "KEEL_E_…", "message", "where"?, "hint"? } }` with the code's HTTP
 * status. Fastify's own failures (schema validation, body too large, bad JSON, unknown route)
 * are mapped onto catalogue codes; anything unexpected is logged and answered with a generic
 * KEEL_E_INTERNAL that reveals nothing of the server, and a catalogue error of the server's own
 * (5xx: the store or Redis failing) keeps its code but is answered with its title only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  asCatalogueError,
  ERROR_CATALOGUE,
  type ErrorCode,
  type KeelError,
} from "../../core/errors.js";

function send(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return reply.status(ERROR_CATALOGUE[code].http).send({ error: { code, message, ...extra } });
}

type Validation = NonNullable<FastifyError["validation"]>;

/**
 * The error to report of those Ajv gave. A body refused by a union (`NoBody`: null or `{}`) gets
 * one error per branch and then the union's own: the first ("must be null") says nothing of what
 * was wrong, where a branch's unknown field says exactly that.
 */
function mostSpecific(errors: Validation): Validation[number] | undefined {
  const named = errors.find(
    (e) => (e.params as { additionalProperty?: string })?.additionalProperty !== undefined,
  );
  return named ?? errors[0];
}

export function errorHandler(
  error: FastifyError | KeelError,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  // (A KeelError thrown uncaught in the ledger append worker arrives as a plain Error.)
  const known = asCatalogueError(error);
  if (known) {
    if (known.httpStatus < 500)
      return reply.status(known.httpStatus).send({ error: known.toJSON() });
    // A failure on the server's side (the store, Redis) names what the operator needs — file
    // paths, addresses, the driver's words — and that is not for whoever sent the request.
    req.log.error({ err: error }, "request failed");
    return send(
      reply,
      known.code,
      `${ERROR_CATALOGUE[known.code].title}; try again later (the server log has the details)`,
    );
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const v = mostSpecific(fe.validation);
    const path = v?.instancePath?.replace(/^\//, "").replaceAll("/", ".") ?? "";
    const params = v?.params as
      | { additionalProperty?: string; missingProperty?: string }
      | undefined;
    const extraKey = params?.additionalProperty;
    // A required field that is missing is named too ("body.choice: is required"), not its
    // parent object ("body: must have required property 'choice'").
    const missing = extraKey === undefined ? params?.missingProperty : undefined;
    const field = [fe.validationContext, path, extraKey ?? missing].filter((x) => x).join(".");
    const message = extraKey
      ? `unknown field ${JSON.stringify(extraKey)}`
      : missing !== undefined
        ? "is required"
        : (v?.message ?? fe.message);
    return send(reply, "KEEL_E_INVALID_RECORD", `${field}: ${message}`, { where: { field } });
  }
  if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return send(reply, "KEEL_E_TOO_LARGE", tooLargeMessage(req));
  }
  if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const m = unsupportedMediaType(req);
    return reply.status(m.status).send({ error: { code: m.code, message: m.message } });
  }
  if (fe.code === "FST_ERR_MAX_PARAM_LENGTH") {
    // A path parameter past the router's cap (256): an id too long, refused with 400 as one of
    // 129 to 256 characters is by its schema (not 414: the URL is not too long to read). Fastify's
    // message repeated the whole URL, up to 16 KiB of it, and said it was "not valid".
    return send(
      reply,
      "KEEL_E_INVALID_RECORD",
      "a path parameter is longer than 256 characters (ids have at most 128)",
    );
  }
  if (fe.statusCode === 412 || fe.statusCode === 416) {
    // A web app file's conditional or range request that cannot be met keeps its status (and
    // a range past the end its Content-Range, the file's length), so that a client can act on
    // it: a plain 400 said the request itself was malformed.
    const headers = (fe as { headers?: unknown }).headers;
    if (typeof headers === "object" && headers !== null)
      reply.headers(headers as Record<string, string>);
    return reply
      .status(fe.statusCode)
      .send({ error: { code: "KEEL_E_INVALID_RECORD", message: fe.message } });
  }
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return send(reply, "KEEL_E_INVALID_RECORD", fe.message);
  }
  req.log.error({ err: error }, "unexpected error");
  return send(reply, "KEEL_E_INTERNAL", "internal error; the server log has the details");
}

/**
 * The refusal of a body over its route's limit, naming the limit (the same from keel serve,
 * serve-model and serve-rm), so that a client knows how far to cut or split it.
 */
export function tooLargeMessage(req: FastifyRequest): string {
  const limit = req.routeOptions?.bodyLimit;
  return typeof limit === "number"
    ? `request body is larger than this route accepts (${limit.toLocaleString("en")} bytes)`
    : "request body is larger than this route accepts";
}

/**
 * The refusal of a body that is not JSON, the same from keel serve, serve-model and serve-rm:
 * 415 with KEEL_E_INVALID_RECORD (in each server's own error shape), naming the type received.
 */
export function unsupportedMediaType(req: FastifyRequest) {
  const got = req.headers["content-type"];
  const named = got === undefined ? "no Content-Type" : JSON.stringify(got.slice(0, 100));
  return {
    status: 415,
    code: "KEEL_E_INVALID_RECORD",
    message: `send the body as application/json (got ${named})`,
  } as const;
}

/**
 * Only JSON bodies are parsed. Fastify also parses text/plain, into a string that then failed
 * the route's check of the body's shape with a 400, where every other type got 415.
 */
export function jsonBodiesOnly(app: FastifyInstance): void {
  app.removeContentTypeParser("text/plain");
}

export function registerErrors(app: FastifyInstance): void {
  app.setErrorHandler(errorHandler);
  jsonBodiesOnly(app);
}
