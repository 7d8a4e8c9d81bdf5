/**
 * A PostgreSQL URL that carries a password, for checking that keel never shows it: the test
 * server's own password when its URL has one, otherwise a made-up one (the test server trusts
 * local connections, so it accepts any). Each URL names a schema of its own, dropped after the
 * file's tests.
 */
import { PG_URL, schemasDroppedAfterAll } from "../helpers/stores.js";

export const MADE_UP_PASSWORD = "keel-Secret-pw-7Q";

let counter = 0;

export function passwordUrl(): { url: string; secret: string; schema: string } {
  const schemas = schemasDroppedAfterAll();
  const u = new URL(PG_URL);
  if (!u.password) u.password = MADE_UP_PASSWORD;
  const secret = decodeURIComponent(u.password);
  const schema = `keel_sec_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  schemas.push(schema);
  u.searchParams.set("schema", schema);
  return { url: u.toString(), secret, schema };
}
