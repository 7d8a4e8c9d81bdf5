/**
 * The `optim` block's `lr` defaults to each trainer's own rate, whether the block is absent or
 * given in part: `optim: {warmup: 10}` in a DPO config once trained at the shared 1e-3, ten
 * times DPO's default.
 */
import { describe, expect, it } from "vitest";
import { parseDpoConfig } from "../../src/train/dpo/dpoConfig.js";
import { parsePpoConfig } from "../../src/train/ppo/ppoConfig.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";
import { parseSftConfig } from "../../src/train/sft/sftConfig.js";

describe("each trainer's default learning rate", () => {
  const cases = [
    [
      "sft",
      1e-3,
      (optim?: object) => parseSftConfig({ model: { init: "ck" }, ...(optim ? { optim } : {}) }),
    ],
    [
      "rm",
      3e-4,
      (optim?: object) => parseRmConfig({ model: { init: "ck" }, ...(optim ? { optim } : {}) }),
    ],
    [
      "ppo",
      1e-4,
      (optim?: object) => parsePpoConfig({ policy: { init: "ck" }, ...(optim ? { optim } : {}) }),
    ],
    [
      "dpo",
      1e-4,
      (optim?: object) => parseDpoConfig({ model: { init: "ck" }, ...(optim ? { optim } : {}) }),
    ],
  ] as const;
  for (const [name, lr, parse] of cases)
    it(`${name}: ${lr} with no optim block and with one that leaves lr out; a given lr stands`, () => {
      expect(parse().optim.lr).toBe(lr);
      const partial = parse({ warmup: 10 }).optim;
      expect(partial.lr).toBe(lr);
      expect(partial.warmup).toBe(10);
      expect(parse({ lr: 0.02 }).optim.lr).toBe(0.02);
    });
});
