/** How failures become HTTP answers (src/server/http/errors.ts), on a bare Fastify app. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { startModuleWorker } from "../../src/core/worker.js";
import { registerErrors } from "../../src/server/http/errors.js";
import { staticRoutes } from "../../src/server/routes/static.js";
import { tempDir } from "../helpers/stores.js";

/** What a worker's `error` event gives for a KeelError thrown uncaught in the worker. */
async function fromWorker(): Promise<unknown> {
  const fixtures = new URL("../core/fixtures/", import.meta.url).href;
  const worker = startModuleWorker(`${fixtures}x.ts`, "throws-keel-error");
  const e = await new Promise<unknown>((resolve) => worker.once("error", resolve));
  await worker.terminate();
  return e;
}

describe("the error handler", () => {
  it("answers a KeelError from a worker thread with its own code and status, not as internal", async () => {
    const arrived = await fromWorker();
    const app = Fastify({ logger: false });
    registerErrors(app);
    app.get("/x", async () => {
      throw arrived;
    });
    const r = await app.inject({ method: "GET", url: "/x" });
    await app.close();
    expect(r.statusCode).toBe(503);
    const body = r.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe("KEEL_E_STORE");
    expect(body.error.message).toMatch(/server log/);
    expect(r.body).not.toContain("/srv");
  });

  it("keeps the status a web app file's answer needs (416, 412) in keel's error shape", async () => {
    const root = tempDir();
    writeFileSync(join(root, "index.html"), "<!doctype html>");
    writeFileSync(join(root, "app.js"), "console.log(1);\n");
    const app = Fastify({ logger: false });
    registerErrors(app);
    await app.register(staticRoutes(root));
    const past = await app.inject({ url: "/app.js", headers: { range: "bytes=1000-" } });
    const precondition = await app.inject({ url: "/app.js", headers: { "if-match": '"other"' } });
    const whole = await app.inject({ url: "/app.js" });
    await app.close();
    expect(past.statusCode).toBe(416);
    expect(past.headers["content-range"]).toBe("bytes */16");
    expect(past.json()).toEqual({
      error: { code: "KEEL_E_INVALID_RECORD", message: "Range Not Satisfiable" },
    });
    expect(precondition.statusCode).toBe(412);
    expect((precondition.json() as { error: { code: string } }).error.code).toBe(
      "KEEL_E_INVALID_RECORD",
    );
    expect(whole.statusCode).toBe(200);
  });
});

describe("a body that is not JSON", () => {
  it("is answered 415 whatever its type, text/plain included, naming the type received", async () => {
    const app = Fastify({ logger: false });
    registerErrors(app);
    app.post("/x", async (req) => ({ got: req.body }));
    const answers: [number, unknown][] = [];
    for (const type of ["text/plain", "text/plain; charset=utf-8", "application/xml"]) {
      const r = await app.inject({
        method: "POST",
        url: "/x",
        headers: { "content-type": type },
        payload: '{"a": 1}',
      });
      answers.push([r.statusCode, r.json()]);
    }
    const json = await app.inject({ method: "POST", url: "/x", payload: { a: 1 } });
    await app.close();
    // Before: text/plain was parsed into a string, which a route's schema then refused with 400.
    expect(answers).toEqual([
      [
        415,
        {
          error: {
            code: "KEEL_E_INVALID_RECORD",
            message: 'send the body as application/json (got "text/plain")',
          },
        },
      ],
      [
        415,
        expect.objectContaining({
          error: expect.objectContaining({ code: "KEEL_E_INVALID_RECORD" }),
        }),
      ],
      [
        415,
        expect.objectContaining({
          error: expect.objectContaining({ code: "KEEL_E_INVALID_RECORD" }),
        }),
      ],
    ]);
    expect(json.json()).toEqual({ got: { a: 1 } });
  });
});
