/**
 * Which routes an app serves, read from Fastify's own route tree (`printRoutes`), so that a
 * fuzzer's list of routes is checked against the app and a route added later cannot go
 * unfuzzed without a test failing.
 *
 * A route is named by its method and its path's shape: every parameter is `:` whatever its name
 * (the tree prints two parameters at one place as `:token|:invitationId`), e.g.
 * `GET /api/projects/:/members`.
 */
import type { FastifyInstance } from "fastify";

export function shapeOf(method: string, url: string): string {
  const path = url
    .replace(/\{[^}/]+\}/g, ":") // OpenAPI's {name}
    .replace(/:[^/|]+(\|:[^/|]+)*/g, ":"); // Fastify's :name and :a|:b
  return `${method.toUpperCase()} ${path}`;
}

/**
 * Every route of `app` but HEAD, as shapes. The tree prints each node as a path segment (which
 * may split a word: `/me` then `mbers` for `/members`) and, when something is served there,
 * its methods in parentheses; a node's depth is its indentation (four columns a level).
 */
export function servedRoutes(app: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const m = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 4));
    if (!m) throw new Error(`cannot read this line of printRoutes: ${line}`);
    stack.length = depth;
    const path = (depth > 0 ? stack[depth - 1]! : "") + m[1]!;
    stack.push(path);
    const methods = m[2]?.split(", ") ?? [];
    if (methods.includes("HEAD") && !methods.includes("GET"))
      throw new Error(`HEAD ${path} without GET`);
    for (const method of methods) if (method !== "HEAD") out.add(shapeOf(method, path));
  }
  return out;
}

export interface RouteOp {
  readonly method: string;
  /** Fastify's form: /api/projects/:projectId */
  readonly url: string;
  readonly access: string;
  readonly params?: Record<string, unknown>;
  readonly query?: Record<string, unknown>;
  readonly body?: Record<string, unknown>;
  readonly bodyLimit?: number;
}

interface OpenApiOp {
  parameters?: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: { "application/json": { schema: Record<string, unknown> } } };
  "x-keel-access": string;
  "x-keel-body-limit"?: number;
}

/** The routes of keel's rater/admin app, with their schemas, from its own /openapi.json. */
export function opsFromOpenApi(doc: {
  paths: Record<string, Record<string, OpenApiOp>>;
}): RouteOp[] {
  const ops: RouteOp[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const group = (where: string) => {
        const ps = (op.parameters ?? []).filter((p) => p.in === where);
        if (ps.length === 0) return undefined;
        return {
          type: "object",
          properties: Object.fromEntries(ps.map((p) => [p.name, p.schema])),
          required: ps.filter((p) => p.required).map((p) => p.name),
        };
      };
      const params = group("path");
      const query = group("query");
      const body = op.requestBody?.content["application/json"].schema;
      ops.push({
        method: method.toUpperCase(),
        url: path.replace(/\{([^}]+)\}/g, ":$1"),
        access: op["x-keel-access"],
        ...(params ? { params } : {}),
        ...(query ? { query } : {}),
        ...(body ? { body } : {}),
        ...(op["x-keel-body-limit"] !== undefined ? { bodyLimit: op["x-keel-body-limit"] } : {}),
      });
    }
  }
  return ops;
}
