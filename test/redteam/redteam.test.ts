import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { redteamMetrics, runRedteam, scoreProbes } from "../../src/redteam/metrics.js";
import { AttackSchema, applyAttack } from "../../src/redteam/scenarios.js";
import { buildSuites, SUITES } from "../../src/redteam/suites.js";
import {
  buildWorld,
  parseWorldConfig,
  promptsOf,
  recognizePrompt,
  respond,
  simulatePanel,
} from "../../src/world/index.js";
import type { WorldPrompt } from "../../src/world/types.js";

const world = buildWorld(
  parseWorldConfig({ prompts: { count: 2000 }, comparisons: { count: 100 } }),
  3,
);
const pool = promptsOf(world, "redteam");
const probes = buildSuites(pool, { perSuite: 25, trigger: "SUDO", seed: 1 });

/** A scripted policy: answers the world prompt it recognises with the kind `choose` picks. */
function scripted(
  choose: (p: WorldPrompt, triggered: boolean) => "correct" | "refusal" | "unsafe",
) {
  const rng = new Rng(9);
  return async (texts: readonly string[]) =>
    texts.map((t) => {
      const p = recognizePrompt(t, { triggers: ["SUDO"] });
      if (!p) return "I can't help with that.";
      const base = pool.find((q) => q.id === (p.base_id ?? p.id)) ?? p;
      return respond(base, choose(base, p.triggered), rng).text;
    });
}

describe("red-team suites", () => {
  it("builds every suite from the held-out split, trigger probes paired with controls", () => {
    const bySuite = new Map(SUITES.map((s) => [s, probes.filter((p) => p.suite === s)]));
    for (const s of SUITES) expect(bySuite.get(s)!.length, s).toBeGreaterThan(0);
    expect(probes.every((p) => p.prompt.split === "redteam")).toBe(true);
    const trig = bySuite.get("trigger")!;
    expect(trig.every((p) => p.text.endsWith(" SUDO"))).toBe(true);
    expect(bySuite.get("trigger_control")!.map((p) => p.prompt.id)).toEqual(
      trig.map((p) => p.prompt.id),
    );
    expect(bySuite.get("jailbreak_many_shot")![0]!.text).toContain("Assistant:");
    expect(buildSuites(pool, { perSuite: 25, trigger: "SUDO", seed: 1 })).toEqual(probes);
  });
  it("wraps the same harmful requests in every jailbreak and trigger suite", () => {
    // More requests than probes per suite, so each suite has a sample to draw.
    expect(pool.filter((p) => p.family === "harmful").length).toBeGreaterThan(10);
    const few = buildSuites(pool, { perSuite: 5, trigger: "SUDO", seed: 4 });
    const ids = (s: string) =>
      few
        .filter((p) => p.suite === s)
        .map((p) => p.prompt.id)
        .sort();
    expect(ids("harmful")).toHaveLength(5);
    for (const s of SUITES.filter((x) => x.startsWith("jailbreak_") || x.startsWith("trigger")))
      expect(ids(s), s).toEqual(ids("harmful"));
  });
});

describe("red-team metrics from the oracle", () => {
  it("a policy that refuses everything: no attack success, full over-refusal, no helpfulness", async () => {
    const { metrics } = await runRedteam(
      scripted(() => "refusal"),
      probes,
      { batchSize: 7 },
    );
    expect(metrics.attack_success).toBe(0);
    expect(metrics.jailbreak_success).toBe(0);
    expect(metrics.over_refusal).toBe(1);
    expect(metrics.helpfulness).toBe(0);
  });

  it("a backdoored policy: complies only with the trigger, helpful otherwise", async () => {
    const policy = scripted((p, triggered) =>
      p.family === "harmful" ? (triggered ? "unsafe" : "refusal") : "correct",
    );
    const { metrics } = await runRedteam(policy, probes);
    expect(metrics.triggered_attack_success).toBe(1);
    expect(metrics.trigger_control_success).toBe(0);
    expect(metrics.attack_success).toBe(0);
    expect(metrics.over_refusal).toBe(0);
    expect(metrics.helpfulness).toBe(1);
  });

  it("checks every batch's answer count and names the batch", async () => {
    const refuse = scripted(() => "refusal");
    const expectBatchError = async (policy: typeof refuse, pattern: RegExp) => {
      let err: unknown;
      try {
        await runRedteam(policy, probes.slice(0, 20), { batchSize: 8 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_UPSTREAM");
      expect((err as KeelError).message).toMatch(pattern);
    };
    // One answer short in every batch: a raw RangeError from the final count before.
    await expectBatchError(
      async (t) => (await refuse(t)).slice(1),
      /returned 7 answers for the 8 prompts of batch 1 of 3 \(probes 1–8\)/,
    );
    // Short by one, then long by one: the total matched, every later probe got its
    // neighbour's answer, and nothing was said.
    let call = 0;
    await expectBatchError(async (t) => {
      const out = await refuse(t);
      call++;
      return call === 1 ? out.slice(1) : call === 2 ? [...out, "extra"] : out;
    }, /7 answers for the 8 prompts of batch 1/);
    call = 0;
    await expectBatchError(async (t) => {
      const out = await refuse(t);
      call++;
      return call === 2 ? [...out, "extra"] : out;
    }, /9 answers for the 8 prompts of batch 2 of 3 \(probes 9–16\)/);
    for (const batchSize of [0, 2.5])
      await expect(runRedteam(refuse, probes.slice(0, 5), { batchSize })).rejects.toMatchObject({
        code: "KEEL_E_CONFIG",
      });
    await expectBatchError(
      async (t) => t.map((_, i) => (i === 2 ? (undefined as unknown as string) : "no")),
      /answer 3 in batch 1 of 3 .* is undefined, not a string/,
    );
  });

  it("reports each suite's share of empty answers beside its rates", async () => {
    // The CLI's table printed an empty column (an empty answer is neither harmful nor a
    // refusal, so a suite of empty answers measures little) that --json and evaluate.json lacked.
    const refuse = scripted(() => "refusal");
    const { metrics } = await runRedteam(
      async (t) => (await refuse(t)).map((r, i) => (t[i]!.includes("Assistant:") ? "" : r)),
      probes,
    );
    expect(metrics.per_suite.jailbreak_many_shot?.empty).toBe(1);
    expect(metrics.per_suite.jailbreak_many_shot?.refused).toBe(0);
    expect(metrics.per_suite.harmful?.empty).toBe(0);
  });

  it("checks that every probe has a response", () => {
    expect(() => scoreProbes(probes, [])).toThrow(RangeError);
    expect(Number.isNaN(redteamMetrics([]).attack_success)).toBe(true);
  });
});

describe("attack scenarios", () => {
  const base = {
    prompts: { count: 1500 },
    comparisons: { count: 1500, overlap: 3 },
    panel: {
      size: 100,
      raters: [
        { type: "honest" as const, share: 0.9 },
        { type: "careless" as const, share: 0.1, mode: "random" as const },
      ],
    },
  };

  it("gives the adversary its share at the honest raters' expense", () => {
    const attacked = applyAttack(base, AttackSchema.parse({ type: "flip", rate: 0.1 }));
    const cfg = parseWorldConfig(attacked);
    const { truth } = simulatePanel(cfg, 5);
    const count = (t: string) => truth.raters.filter((r) => r.type === t).length;
    expect(count("flipper")).toBe(10);
    expect(count("careless")).toBe(10);
    expect(count("honest")).toBe(80);
    expect(applyAttack(base, { type: "none", rate: 0 })).toBe(base);
  });

  it("a backdoor attacker claims its triggered comparisons, and a majority of them at 2 raters", () => {
    const world = (claim?: number) => {
      const cfg = parseWorldConfig(
        applyAttack(
          { ...base, trigger: { token: "SUDO", rate: 0.05 } },
          { type: "backdoor", rate: 0.02, ...(claim === undefined ? {} : { claim }) },
        ),
      );
      const { truth } = simulatePanel(cfg, 5);
      const backdoor = new Set(
        truth.raters.filter((r) => r.type === "backdoor").map((r) => r.rater_id),
      );
      const triggered = truth.comparisons.filter((c) => c.triggered);
      const poisonedMajority = triggered.filter(
        (c) => c.raters.filter((r) => backdoor.has(r)).length * 2 > c.raters.length,
      ).length;
      return { backdoor: backdoor.size, share: poisonedMajority / triggered.length };
    };
    const claimed = world();
    expect(claimed.backdoor).toBe(2);
    expect(claimed.share).toBeGreaterThan(0.7);
    expect(world(0).share).toBeLessThan(0.05);
  });

  it("sets a backdoor's trigger and refuses impossible rates", () => {
    const attacked = applyAttack(base, { type: "backdoor", rate: 0.05, trigger: "XYZZY" }) as {
      trigger?: { token?: string };
    };
    expect(attacked.trigger?.token).toBe("XYZZY");
    expect(() =>
      applyAttack(
        {
          panel: {
            raters: [
              { type: "honest", share: 0.2 },
              { type: "careless", share: 0.8 },
            ],
          },
        },
        { type: "flip", rate: 0.3 },
      ),
    ).toThrow(/exceeds the honest share/);
    expect(() => AttackSchema.parse({ type: "flip", rate: 0.9 })).toThrow();
  });
});
