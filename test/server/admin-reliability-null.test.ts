/**
 * The admin API's reliability for a rater the audit measured nothing on (alone on every
 * comparison, no gold answers): null — which the admin page shows as "—" — not 0, which reads
 * as a rater who is always wrong, nor the ~1 its own judgments gave it. The live scores keep the
 * audit's null rather than falling back to a figure of their own.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { computeScores } from "../../src/server/scores/live.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { answer, call, type Fixture, json, makeFixture, nextTask, onboard } from "./helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe("the admin API's reliability of an unmeasured rater", () => {
  it("is null, from the project's own audit, for a rater alone on comparisons without gold", async () => {
    const fx = await makeFixture(await openStore(join(tempDir(), "r.db"), { create: true }), {
      gold: 0,
      gold_rate: 0,
    });
    f = fx;
    await onboard(fx, fx.actors.rater);
    for (let i = 0; i < 4; i++) {
      const t = await nextTask(fx, fx.actors.rater);
      const r = await call(fx, fx.actors.rater, "POST", `/api/tasks/${t!.task_id}/judgment`, {
        body: { choice: answer(t!) },
      });
      expect(r.statusCode).toBe(200);
    }
    const q = await fx.ctx.queues.get("p1");
    const audited = await fx.ctx.scores.audit(q!, Date.now());
    const own = audited!.raters.find((r) => r.rater_id === fx.actors.rater.user_id)!;
    expect(own.judgments).toBe(4);
    expect(own.reliability).toBeNull();

    const res = await call(fx, fx.actors.reviewer, "GET", "/api/projects/p1/raters");
    expect(res.statusCode, res.body).toBe(200);
    const row = json<{
      raters: { user_id: string; reliability: unknown; verdict_source: string }[];
    }>(res).raters.find((r) => r.user_id === fx.actors.rater.user_id)!;
    expect(row.verdict_source).toBe("audit");
    expect(row.reliability).toBeNull();

    // The live scores take the audit's null as it is (no Dawid–Skene figure in its place).
    const judgments = await fx.ctx.scores.judgments("p1");
    const scores = computeScores(q!.project, q!.items, judgments, new Map(), audited);
    const live = scores.raters.find((r) => r.rater_id === fx.actors.rater.user_id)!;
    expect(live.reliability).toBeNull();
    expect(live.verdict_source).toBe("audit");
  });
});
