/** Server settings shared by every process on one store (e.g. the task-id secret). */
import type { CollectionDb } from "./schema.js";

/** The value under `key`, set to `init()` first if absent (the first process to ask wins). */
export async function settingOrInit(
  db: CollectionDb,
  key: string,
  init: () => string,
): Promise<string> {
  await db
    .insertInto("settings")
    .values({ key, value: init() })
    .onConflict((oc) => oc.column("key").doNothing())
    .execute();
  const r = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", key)
    .executeTakeFirstOrThrow();
  return r.value;
}
