/**
 * A gold scorer that returns NaN (or mostly NaN or ±∞) leaves gold-reward tracking blind: each
 * such batch is skipped. It raises its own alarm, edge-triggered like every safeguard's (one
 * event when it starts, again only after it has cleared), with the block's action.
 */
import { describe, expect, it } from "vitest";
import { GoldMonitor, parseSafeguards } from "../../src/safeguards/index.js";
import { readMetrics } from "../../src/train/common/run.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { tinyCheckpoint, tmp } from "../train/fixtures.js";
import { monitorContext as ctx } from "./helpers.js";

const gold = (action: "warn" | "stop" = "warn") =>
  parseSafeguards({ gold: { max_drop: 0.1, smoothing: 0, action } }).gold!;

describe("a gold scorer whose scores are not finite", () => {
  it("all NaN every time: one event at the first batch, naming the count", async () => {
    const m = new GoldMonitor(gold(), (ps) => ps.map(() => Number.NaN));
    const events = [];
    for (let s = 1; s <= 5; s++)
      events.push(...(await m.observe(ctx(s, { scores: [1, 2, 3, 4] }))));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      step: 1,
      source: "gold",
      severity: "warn",
      value: 1,
      threshold: 0.5,
    });
    expect(events[0]!.message).toBe(
      "the gold scorer returned 4 of 4 scores that are not finite (NaN for response 0 first): gold reward cannot be tracked while it does",
    );
  });

  it("mostly not finite raises it; a minority does not; action stop stops", async () => {
    const run = async (scores: number[], action?: "warn" | "stop") => {
      const m = new GoldMonitor(gold(action), () => scores);
      return m.observe(ctx(1, { scores: scores.map(() => 1) }));
    };
    expect(await run([0.5, Number.POSITIVE_INFINITY, Number.NaN, 0.2])).toHaveLength(1);
    expect(await run([0.5, 0.1, Number.NaN, 0.2])).toEqual([]);
    expect((await run([Number.NaN, Number.NaN], "stop")).map((e) => e.severity)).toEqual(["stop"]);
  });

  it("re-arms after clearing, and its state survives a checkpoint (and an older state without it)", async () => {
    let nan = true;
    const fn = (ps: readonly string[]) => ps.map(() => (nan ? Number.NaN : 0.5));
    const m = new GoldMonitor(gold(), fn);
    expect(await m.observe(ctx(1))).toHaveLength(1);
    const resumed = new GoldMonitor(gold(), fn);
    resumed.restore(JSON.parse(JSON.stringify(m.state())));
    expect(await resumed.observe(ctx(2))).toEqual([]);
    nan = false;
    for (let s = 3; s <= 5; s++) expect(await resumed.observe(ctx(s))).toEqual([]);
    nan = true;
    expect(await resumed.observe(ctx(6))).toHaveLength(1);

    const { unscored: _, ...older } = m.state();
    const fromOld = new GoldMonitor(gold(), fn);
    fromOld.restore(JSON.parse(JSON.stringify(older)));
    expect(await fromOld.observe(ctx(7))).toHaveLength(1);
  });

  it("in a PPO run, the event is in metrics.jsonl", async () => {
    const out = tmp("gold-nan");
    const r = await trainPpo(
      {
        policy: { init: tinyCheckpoint(tmp("gold-nan-init")) },
        rollout: { batch_size: 2, max_new_tokens: 4 },
        ppo: { iterations: 2, epochs: 1, minibatch_size: 2 },
      },
      { prompts: ["pick one", "say yes"] },
      {
        outDir: out,
        threads: 1,
        reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        monitors: [new GoldMonitor(gold(), (ps) => ps.map(() => Number.NaN))],
      },
    );
    expect(r.status).toBe("completed");
    const events = readMetrics(out).filter((x) => x.type === "event");
    expect(events).toEqual([
      expect.objectContaining({ step: 1, source: "gold", severity: "warn" }),
    ]);
  });
});
