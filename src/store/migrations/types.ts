import type { Kysely } from "kysely";

export type DialectName = "sqlite" | "postgres";

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was, untyped
export type AnyDb = Kysely<any>;
