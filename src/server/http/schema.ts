/**
 * Route schemas are written once, in zod (the house's boundary validator), and handed to
 * Fastify as JSON Schema: Ajv validates requests with them, fast-json-stringify serialises
 * responses with them (so a field not in a response schema never leaves the server), and the
 * OpenAPI description is generated from them. `strictObject` becomes
 * `additionalProperties: false`: unknown keys are errors.
 */
import { z } from "zod";

export type JsonSchema = Record<string, unknown>;

/** JSON Schema (draft-07, as Fastify's Ajv expects) of a zod schema. */
export function js(schema: z.ZodType, io: "input" | "output" = "input"): JsonSchema {
  const out = z.toJSONSchema(schema, {
    target: "draft-07",
    io,
    unrepresentable: "any",
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** The error body every failing route answers with. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    where: z
      .object({
        file: z.string().optional(),
        line: z.number().optional(),
        field: z.string().optional(),
        id: z.string().optional(),
      })
      .optional(),
    hint: z.string().optional(),
  }),
});

/** `{ 200: …, 4xx: error }` response map for a route. */
export function responses(ok: z.ZodType, status = 200): Record<string, JsonSchema> {
  const err = js(ErrorBody, "output");
  return { [status]: js(ok, "output"), "4xx": err, "5xx": err };
}

export const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and _ . : - only");

export const ProjectParams = z.strictObject({ projectId: Id });

export const Ok = z.object({ ok: z.literal(true) });

/**
 * The body of a POST or DELETE that takes none: nothing, or `{}` (what a generic JSON client
 * sends). Anything else is refused instead of being read and ignored.
 */
export const NoBody = z.union([z.null(), z.strictObject({})]);

/** Body limits (bytes): small by default, larger only where a route needs it. */
export const LIMIT = {
  tiny: 1024,
  small: 16 * 1024,
  /** A project's settings: guidelines of up to 100,000 characters, even if all escaped. */
  settings: 1024 * 1024,
  items: 16 * 1024 * 1024,
} as const;
