/**
 * `GET /openapi.json`: the OpenAPI 3.0 description, generated from the routes themselves (their
 * JSON schemas, access and body limits), so it cannot drift from what the server does.
 */
import type { FastifyInstance, RouteOptions } from "fastify";
import { KEEL_VERSION } from "../../core/version.js";

interface Op {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  access: string;
  bodyLimit?: number;
}

function toPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function parameters(schema: Record<string, unknown> | undefined, where: "path" | "query") {
  const props = (schema?.properties ?? {}) as Record<string, unknown>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    schema: s,
  }));
}

export function openApiDocument(ops: readonly Op[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const s = op.schema as {
      params?: Record<string, unknown>;
      querystring?: Record<string, unknown>;
      body?: Record<string, unknown>;
      response?: Record<string, Record<string, unknown>>;
      summary?: string;
      tags?: string[];
    };
    const responses: Record<string, unknown> = {};
    for (const [status, body] of Object.entries(s.response ?? {})) {
      responses[status.toUpperCase()] = {
        description: status === "200" || status === "201" ? "success" : "error",
        content: { "application/json": { schema: body } },
      };
    }
    const path = toPath(op.url);
    paths[path] ??= {};
    paths[path]![op.method.toLowerCase()] = {
      ...(s.summary ? { summary: s.summary } : {}),
      ...(s.tags ? { tags: s.tags } : {}),
      parameters: [...parameters(s.params, "path"), ...parameters(s.querystring, "query")],
      ...(s.body
        ? { requestBody: { required: true, content: { "application/json": { schema: s.body } } } }
        : {}),
      responses,
      "x-keel-access": op.access,
      ...(op.bodyLimit !== undefined ? { "x-keel-body-limit": op.bodyLimit } : {}),
      ...(op.access === "public" ? { security: [] } : {}),
    };
  }
  return {
    openapi: "3.0.3",
    info: {
      title: "keel feedback collection",
      version: KEEL_VERSION,
      description:
        "Rater and admin API of keel. Browsers authenticate with the keel_session cookie and send X-CSRF-Token on state-changing requests; programs use `Authorization: Bearer keel_…` API tokens.",
    },
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "keel_session" },
        token: { type: "http", scheme: "bearer" },
      },
    },
    security: [{ session: [] }, { token: [] }],
    paths,
  };
}

/** Collects routes as they are added; must be registered before them. */
export function collectRoutes(app: FastifyInstance): Op[] {
  const ops: Op[] = [];
  app.addHook("onRoute", (r: RouteOptions) => {
    if (r.method === "HEAD" || (Array.isArray(r.method) && r.method.includes("HEAD"))) return;
    if (r.schema === undefined || (r.config as { hidden?: boolean })?.hidden) return;
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      ops.push({
        method: m,
        url: r.url,
        schema: r.schema as Record<string, unknown>,
        access: String((r.config as { access?: string })?.access ?? "public"),
        ...(r.bodyLimit !== undefined ? { bodyLimit: r.bodyLimit } : {}),
      });
    }
  });
  return ops;
}
