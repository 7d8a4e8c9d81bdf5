/**
 * The built web app (web/dist): its files, and index.html for any other non-API GET so that
 * client-side routes (/rate/…, /admin/…, /invite/…) load the app. A path that routes serve
 * with other methods only is answered 405 (http/methods.ts), a GET to it included.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { KeelError } from "../../core/errors.js";
import { allowedMethods, keelMethodNotAllowed } from "../http/methods.js";

export function staticRoutes(root: string) {
  const index = join(root, "index.html");
  if (!existsSync(index)) {
    throw new KeelError("KEEL_E_FILE", `the web app is not built: ${index} is missing`, {
      hint: "run `npm run build` (it builds the server and web/ into web/dist)",
    });
  }
  const html = readFileSync(index);
  return async (app: FastifyInstance) => {
    await app.register(fastifyStatic, {
      root,
      prefix: "/",
      wildcard: false,
      index: false,
      serveDotFiles: false,
      cacheControl: true,
      maxAge: "1h",
      immutable: false,
      config: { access: "public", hidden: true },
    } as Parameters<typeof fastifyStatic>[1]);
    app.setNotFoundHandler({}, async (req, reply) => {
      // Before the app's own pages: a GET to a path only other methods serve is refused.
      const allowed = allowedMethods(app, req);
      if (allowed.length > 0) {
        return reply.send(keelMethodNotAllowed(req, reply, allowed));
      }
      if (req.method === "GET" && !req.url.startsWith("/api/") && !req.url.startsWith("/openapi")) {
        return reply
          .type("text/html; charset=utf-8")
          .header("cache-control", "no-store")
          .send(html);
      }
      throw new KeelError("KEEL_E_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`);
    });
  };
}
