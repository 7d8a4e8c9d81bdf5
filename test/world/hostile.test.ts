/**
 * Hostile and careless world configs: each fails early with KEEL_E_CONFIG naming the field,
 * or runs in bounded time, instead of allocating gigabytes, looping for minutes or crashing
 * with a raw RangeError.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { JudgmentSchema, MAX_LATENCY_MS } from "../../src/core/schemas.js";
import {
  generatePrompts,
  parseWorldConfig,
  sftCorpus,
  simulatePanel,
} from "../../src/world/index.js";

function configError(value: unknown): string {
  try {
    parseWorldConfig(value, { file: "w.yaml" });
  } catch (e) {
    if (isKeelError(e) && e.code === "KEEL_E_CONFIG") return e.message;
    throw e;
  }
  throw new Error("no error");
}

/** Makes every Rng throw after `limit` draws, so a runaway loop fails instead of hanging. */
function limitDraws(limit: number): () => number {
  let calls = 0;
  const original = Rng.prototype.nextU32;
  vi.spyOn(Rng.prototype, "nextU32").mockImplementation(function (this: Rng) {
    if (++calls > limit) throw new Error(`more than ${limit} random draws`);
    return original.call(this);
  });
  return () => calls;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("world config: sizes that would exhaust memory or time", () => {
  it.each([
    [{ panel: { raters: [{ type: "honest", count: 100_000_000 }] } }, "panel.raters.0.count"],
    [{ panel: { size: 1e9, raters: [{ type: "honest", share: 1 }] } }, "panel.size"],
    [
      {
        panel: {
          raters: [
            { type: "honest", count: 60_000 },
            { type: "careless", count: 60_000 },
          ],
        },
      },
      "panel.raters: the group counts sum to 120000",
    ],
    [{ sft: { count: 1_000_000_000 } }, "sft.count"],
    [{ eval_pairs: { count: 1_000_000_000 } }, "eval_pairs.count"],
    [{ panel: { raters: [{ type: "honest", count: 3, activity: 1e308 }] } }, "activity"],
  ])("rejects %j naming the field", (value, message) => {
    expect(configError(value)).toContain(message);
  });

  it("accepts the largest panel", () => {
    const c = parseWorldConfig({ panel: { raters: [{ type: "honest", count: 100_000 }] } });
    expect(c.panel.raters[0]!.count).toBe(100_000);
  });
});

describe("world config: SFT mixes with nothing to draw", () => {
  it.each([
    [{ sft: { benign: {} } }, "sft.benign: needs a kind with positive weight"],
    [{ sft: { harmful: { refusal: 0, unsafe: 0 } } }, "sft.harmful: needs a kind"],
    [{ sft: { borderline: { correct: 0 } } }, "sft.borderline: needs a kind"],
  ])("rejects %j instead of a RangeError later", (value, message) => {
    expect(configError(value)).toContain(message);
  });

  it("allows an empty mix for a family the world does not have, or with no SFT rows", () => {
    const c = parseWorldConfig({
      prompts: { count: 50, families: { arithmetic: 1 } },
      sft: { count: 20, harmful: {}, borderline: {} },
      comparisons: { count: 0 },
      eval_pairs: { count: 0 },
    });
    expect(sftCorpus(simulatePanel(c, 1).world)).toHaveLength(20);
    expect(() => parseWorldConfig({ sft: { count: 0, benign: {} } })).not.toThrow();
  });
});

describe("bounded time on degenerate configs", () => {
  it("fails fast when a family is asked for far more prompts than it holds", () => {
    const draws = limitDraws(5_000_000);
    let err: unknown;
    try {
      generatePrompts(
        { count: 1_000_000, families: { facts: 1 }, splits: { train: 1, eval: 0, redteam: 0 } },
        new Rng(1),
      );
    } catch (e) {
      err = e;
    }
    expect(isKeelError(err) && err.code).toBe("KEEL_E_CONFIG");
    expect((err as Error).message).toContain("the facts family yielded only");
    expect(draws()).toBeLessThan(5_000_000);
  });

  it("fills every slot when one rater is far less active than the rest", () => {
    const c = parseWorldConfig({
      prompts: { count: 40, families: { arithmetic: 1 } },
      comparisons: { count: 5, overlap: 4 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: {
        raters: [
          { type: "honest", count: 3 },
          { type: "honest", count: 1, activity: 1e-12 },
        ],
      },
    });
    limitDraws(1_000_000);
    const { truth } = simulatePanel(c, 3);
    expect(truth.comparisons.every((t) => new Set(t.raters).size === 4)).toBe(true);
  });

  it("fills every slot when the overlap is the whole panel", () => {
    const c = parseWorldConfig({
      prompts: { count: 40, families: { arithmetic: 1 } },
      comparisons: { count: 3, overlap: 300 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: { raters: [{ type: "honest", count: 300 }] },
    });
    const { truth } = simulatePanel(c, 3);
    expect(truth.comparisons.map((t) => new Set(t.raters).size)).toEqual([300, 300, 300]);
  });
});

describe("the simulated clock", () => {
  const run = (value: unknown) => {
    try {
      simulatePanel(parseWorldConfig(value), 1);
    } catch (e) {
      if (isKeelError(e)) return `${e.code} ${e.where?.field}`;
      throw e;
    }
    return "no error";
  };
  const small = {
    prompts: { count: 40, families: { arithmetic: 1 } },
    sft: { count: 0 },
    eval_pairs: { count: 0 },
  };

  it("names arrival_ms when the clock runs past what a timestamp can hold", () => {
    expect(run({ ...small, comparisons: { count: 2000, arrival_ms: 1e13 } })).toBe(
      "KEEL_E_CONFIG comparisons.arrival_ms",
    );
  });

  it("stops at the year 9999: a later created_at could not be imported again", () => {
    // Before: the clock ran on to "+010000-01-01T…", which JudgmentSchema (keel import) refuses.
    const start = "9999-12-31T23:00:00Z";
    expect(run({ ...small, comparisons: { count: 200, arrival_ms: 60_000, start } })).toBe(
      "KEEL_E_CONFIG comparisons.arrival_ms",
    );
    const { judgments } = simulatePanel(
      parseWorldConfig({ ...small, comparisons: { count: 20, arrival_ms: 60_000, start } }),
      1,
    );
    for (const j of judgments) expect(JudgmentSchema.safeParse(j).success).toBe(true);
  });

  it("names the latency when a rater's median is past what latency_ms can hold", () => {
    // Finite and far from the clock's end, but over the import's 10^10 ms.
    const panel = { raters: [{ type: "honest", count: 5, latency: { base_ms: 2e10 } }] };
    expect(run({ ...small, comparisons: { count: 2 }, panel })).toBe(
      "KEEL_E_CONFIG panel.raters.latency",
    );
  });

  it("keeps a wide spread's latencies within what keel import reads", () => {
    // sigma 1000 draws e^±1000: 0 ms and Infinity ms before the bounds.
    const panel = { raters: [{ type: "honest", count: 5, latency: { sigma: 1000 } }] };
    const { judgments } = simulatePanel(
      parseWorldConfig({ ...small, comparisons: { count: 20 }, panel }),
      1,
    );
    const latencies = judgments.map((j) => j.latency_ms!);
    expect(Math.min(...latencies)).toBe(1);
    expect(Math.max(...latencies)).toBe(MAX_LATENCY_MS);
    for (const j of judgments) expect(JudgmentSchema.safeParse(j).success).toBe(true);
  });

  it("names the latency when a judgment's latency does", () => {
    const panel = { raters: [{ type: "honest", count: 5, latency: { base_ms: 1e300 } }] };
    expect(run({ ...small, comparisons: { count: 2 }, panel })).toBe(
      "KEEL_E_CONFIG panel.raters.latency",
    );
  });
});
