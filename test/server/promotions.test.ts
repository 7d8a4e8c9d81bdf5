/**
 * The admin API's audit findings on a live project: entity promoters' judgments of the
 * project's items (the world's entity attack) make GET /api/projects/:id/groups name the
 * promoted name, and each promoter's live verdict carries the promotion reason.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addItems,
  addMembers,
  collectionDb,
  createUser,
  type NewItem,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { tempDir } from "../helpers/stores.js";
import { call, type Fixture, json, makeFixture } from "./helpers.js";

let f: Fixture;
let promoters: Set<string>;

beforeAll(async () => {
  const store = await openStore(join(tempDir(), "promotions.db"), { create: true });
  f = await makeFixture(store, { tasks: 0, gold: 0 });
  const config = parseWorldConfig({
    seed: 11,
    comparisons: { count: 3000, overlap: 3, gold_rate: 0 },
    entities: { names: ["Zentrix", "Quorra", "Valdane"], mention_rate: 0.5 },
    panel: {
      raters: [
        { type: "honest", count: 24 },
        { type: "entity_promoter", count: 4, entity: "Zentrix", rate: 1 },
      ],
    },
  });
  const sim = simulatePanel(config, 11);
  // The world's raters as the project's members: each judgment under its rater's user id.
  const db = collectionDb(store);
  const now = new Date();
  const userOf = new Map<string, string>();
  for (const r of sim.truth.raters) {
    const u = await createUser(db, { login: `w-${r.rater_id}`, role: "rater" }, now);
    userOf.set(r.rater_id, u.user_id);
  }
  await addMembers(db, "p1", [...userOf.values()], now);
  promoters = new Set(
    sim.truth.raters
      .filter((r) => r.type === "entity_promoter")
      .map((r) => userOf.get(r.rater_id)!),
  );
  const seen = new Set<string>();
  const items: NewItem[] = [];
  for (const j of sim.judgments) {
    if (seen.has(j.comparison_id)) continue;
    seen.add(j.comparison_id);
    items.push({
      comparison: {
        comparison_id: j.comparison_id,
        prompt: j.prompt,
        response_a: j.response_a,
        response_b: j.response_b,
      },
      kind: "task",
      batch: "world",
    });
  }
  await addItems(db, "p1", items);
  // Judgments that arrived by another path (an import, another server process).
  await store.appendJudgments(
    sim.judgments.map((j) => ({ ...j, rater_id: userOf.get(j.rater_id)! })),
  );
}, 60_000);

afterAll(async () => {
  await f?.close();
});

describe("promoted names on the admin API", () => {
  it("GET /groups names the promoted name; raters cannot see it", async () => {
    const r = await call(f, f.actors.admin, "GET", "/api/projects/p1/groups");
    expect(r.statusCode).toBe(200);
    const body = json<{
      source: string;
      promotions: { pattern: string; support: number; raters: number }[];
    }>(r);
    expect(body.source).toBe("audit");
    expect(body.promotions[0]?.pattern).toBe("zentrix");
    expect(body.promotions[0]!.raters).toBeGreaterThanOrEqual(3);
    expect(body.promotions.map((p) => p.pattern)).not.toContain("quorra");
    const asRater = await call(f, f.actors.rater, "GET", "/api/projects/p1/groups");
    expect(asRater.statusCode).toBe(403);
  });

  it("the promoters' live verdicts give the promotion as their first reason", async () => {
    const r = await call(f, f.actors.admin, "GET", "/api/projects/p1/raters");
    expect(r.statusCode).toBe(200);
    const raters = json<{
      raters: { user_id: string; verdict: string; reasons: string[] }[];
    }>(r).raters;
    const flagged = raters.filter((x) => x.verdict !== "trusted");
    const caught = flagged.filter((x) => promoters.has(x.user_id));
    expect(caught.length).toBeGreaterThanOrEqual(3);
    for (const x of caught) expect(x.reasons[0]).toMatch(/^promotion: .*"zentrix"/);
    expect(flagged.filter((x) => !promoters.has(x.user_id)).length).toBeLessThanOrEqual(1);
  });
});
