/**
 * Password hashing with scrypt (Percival 2009, RFC 7914), Node's built-in, run on libuv's
 * thread pool so hashing never blocks the event loop. Stored form:
 * `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<key b64url>` — the parameters travel with the hash,
 * so raising the cost later still verifies old hashes. Comparison is constant-time.
 * Defaults (N = 2^15, r = 8, p = 1; 32 MiB, tens of ms) follow OWASP's scrypt guidance.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptCost = { log2N: 15, r: 8, p: 1 };
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, c: ScryptCost): Promise<Buffer> {
  const N = 2 ** c.log2N;
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      KEY_BYTES,
      { N, r: c.r, p: c.p, maxmem: 256 * N * c.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(
  password: string,
  cost: ScryptCost = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost.log2N}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** True when `password` matches `stored`; false for any malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const log2N = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  if (![log2N, r, p].every((x) => Number.isInteger(x) && x > 0) || log2N > 22) return false;
  const salt = Buffer.from(parts[4]!, "base64url");
  const expected = Buffer.from(parts[5]!, "base64url");
  const key = await derive(password, salt, { log2N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: verifying against it costs the same as against a real one. */
export async function dummyHash(cost: ScryptCost): Promise<string> {
  return hashPassword(randomBytes(16).toString("hex"), cost);
}
