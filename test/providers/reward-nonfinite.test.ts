/**
 * A reward model whose weights are finite but overflow float32 on the way to the score (a
 * diverged run: here ln_f's bias 1 and reward-head weights of 1e38, so the head's sum passes
 * float32's largest number) scores +∞. The engine reward provider must fail the call, naming the
 * item and, for an ensemble, the member, so that no score reaches PPO, a report or JSON (where
 * NaN and ∞ are written as null).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Gpt } from "../../src/engine/gpt/model.js";
import { EngineRewardProvider } from "../../src/providers/reward/engine.js";
import { saveModel } from "../../src/train/common/model.js";
import { writeEnsembleFile } from "../../src/train/rm/ensemble.js";
import { TINY_ARCH, tinyCodec } from "../train/fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const codec = tinyCodec();

/** A reward checkpoint at `dir`; `overflow` makes its reward head's sum overflow float32. */
function rewardModel(dir: string, overflow: boolean): string {
  const m = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH }, { seed: 4, threads: 1 });
  if (overflow) {
    m.params.view("ln_f.bias").fill(1);
    m.params.view("reward_head.weight").fill(1e38);
  }
  saveModel(dir, m, codec, { extra: { kind: "reward" } });
  void m.dispose();
  return dir;
}

const items = [
  { prompt: "a", response: "b" },
  { prompt: "c", response: "d" },
];

describe("EngineRewardProvider over a model that scores ∞", () => {
  it("fails the call naming the item, and scores a sound model", async () => {
    const root = mkdtempSync(join(tmpdir(), "keel-rm-nonfinite-"));
    dirs.push(root);
    const bad = new EngineRewardProvider({ dir: rewardModel(join(root, "bad"), true), threads: 1 });
    const good = new EngineRewardProvider({
      dir: rewardModel(join(root, "good"), false),
      threads: 1,
    });
    try {
      const r = await bad.score(items);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe("KEEL_E_NUMERIC");
      expect(r.error.detail).toBe(`${bad.id()} scored item 0 as Infinity`);
      expect(r.error.where).toEqual({ field: "items.0" });
      const g = await good.score(items);
      expect(g.ok && g.value.rewards.every(Number.isFinite)).toBe(true);
    } finally {
      await bad.close();
      await good.close();
    }
  });

  it("names the ensemble member that scored it, under worst scoring too", async () => {
    // worst = the members' minimum passed over member-1's +∞: a finite reward went out with a
    // NaN spread beside it (null in JSON)
    const root = mkdtempSync(join(tmpdir(), "keel-rm-nonfinite-"));
    dirs.push(root);
    rewardModel(join(root, "member-0"), false);
    rewardModel(join(root, "member-1"), true);
    for (const scoring of ["mean", "worst"] as const) {
      writeEnsembleFile(root, {
        format: "keel-reward-ensemble",
        kind: "reward",
        members: ["member-0", "member-1"],
        scoring,
        lambda: 0,
        normalise: false,
      });
      const p = new EngineRewardProvider({ dir: root, threads: 1 });
      try {
        const r = await p.score(items.slice(1));
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error.detail).toBe(
          `${p.id()}: ensemble member member-1 scored item 0 as Infinity`,
        );
      } finally {
        await p.close();
      }
    }
  });
});
