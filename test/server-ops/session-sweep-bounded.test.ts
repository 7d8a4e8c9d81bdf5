/**
 * Expired sessions are deleted by a periodic sweep (`sessionSweepMs`), not only when their user
 * signs in again: before, every session of a user who never came back stayed in the database for
 * good, one row per sign-in.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collectionDb, createSession } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/index.js";
import { tempDir } from "../helpers/stores.js";
import { type Fixture, makeFixture } from "../server/helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function sessions(fx: Fixture): Promise<{ user_id: string; expires_at: string }[]> {
  return collectionDb(fx.store)
    .selectFrom("sessions")
    .select(["user_id", "expires_at"])
    .orderBy("expires_at")
    .execute();
}

/** Waits (polling, bounded) until `done()` holds; the sweep runs on a real timer. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let k = 0; k < 400 && !(await done()); k++) await new Promise((r) => setTimeout(r, 25));
}

describe("the expired-session sweep", () => {
  it("deletes sessions past their expiry, whoever they belong to, and keeps live ones", async () => {
    f = await makeFixture(
      await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
      { quiz: 0 },
      { sessionSweepMs: 20 },
    );
    const fx = f;
    const db = collectionDb(fx.store);
    const hour = 3_600_000;
    const now = Date.now();
    // a rater who signed in three times and never came back, and a reviewer still signed in
    for (let k = 0; k < 3; k++)
      await createSession(db, fx.actors.rater.user_id, new Date(now - (20 + k) * hour), 12 * hour);
    await createSession(db, fx.actors.reviewer.user_id, new Date(now), 12 * hour);
    await until(async () => (await sessions(fx)).length === 1);
    const left = await sessions(fx);
    expect(left.map((s) => s.user_id)).toEqual([fx.actors.reviewer.user_id]);
    // once its own expiry passes (by the server's clock), it goes too
    fx.advance(13 * hour);
    await until(async () => (await sessions(fx)).length === 0);
    expect(await sessions(fx)).toEqual([]);
  });

  it("is off at 0", async () => {
    f = await makeFixture(
      await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
      { quiz: 0 },
      { sessionSweepMs: 0 },
    );
    const db = collectionDb(f.store);
    await createSession(db, f.actors.rater.user_id, new Date(Date.now() - 20 * 3_600_000), 1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(await sessions(f)).toHaveLength(1);
  });
});
