import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfig } from "../../src/core/config.js";
import { editDistance, unknownKeysHint } from "../../src/core/config-hints.js";
import type { KeelError } from "../../src/core/errors.js";
import { parseRecord } from "../../src/core/schemas.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { parseRmConfig } from "../../src/train/index.js";
import { parseWorldConfig } from "../../src/world/config.js";
import { refusal } from "../helpers/errors.js";

const hintOf = (f: () => unknown): string | undefined => refusal(f).hint;

describe("hints for unknown config fields", () => {
  it("edit distance counts a swap of neighbours once", () => {
    expect(editDistance("reward_modle", "reward_model")).toBe(1);
    expect(editDistance("tolerence", "tolerance")).toBe(1);
    expect(editDistance("abc", "")).toBe(3);
  });

  it("reads the schema through optional, default, pipe, array and union", () => {
    const s = z.strictObject({
      items: z.array(z.strictObject({ weight: z.number() })).optional(),
      mode: z.union([z.strictObject({ fast: z.boolean() }), z.strictObject({ slow: z.number() })]),
      inner: z.strictObject({ depth: z.int().default(1) }).transform((x) => x.depth),
    });
    expect(unknownKeysHint(s, ["items", 0], ["wieght"])).toBe(
      'did you mean "weight" (items.0.weight)?',
    );
    expect(unknownKeysHint(s, ["mode"], ["slwo"])).toBe('did you mean "slow" (mode.slow)?');
    expect(unknownKeysHint(s, [], ["depth"])).toBe('"depth" belongs under inner: inner.depth');
    expect(unknownKeysHint(s, [], ["zebra"])).toBeUndefined();
  });

  it("a near miss of an allowed value names the value", () => {
    const s = z.strictObject({ loss: z.enum(["sigmoid", "robust", "hinge"]) });
    expect(hintOf(() => parseConfig(s, { loss: "robst" }))).toBe('did you mean "robust"?');
    expect(hintOf(() => parseConfig(s, { loss: "cosine" }))).toBeUndefined();
  });

  it("a block left out names the fields it takes; the config's kind ends the message", () => {
    const err = (() => {
      try {
        parseRmConfig({ data: {} });
      } catch (e) {
        return e as KeelError;
      }
      throw new Error("accepted");
    })();
    expect(err.message).toBe("model: is required (reward-model config)");
    expect(err.where?.field).toBe("model");
    expect(err.hint).toBe("model is a block; it takes init, arch, tokenizer");
    // A missing plain value gets no such hint, nor does a block given with the wrong type.
    const s = z.strictObject({ n: z.number(), block: z.strictObject({ a: z.number() }) });
    expect(hintOf(() => parseConfig(s, { block: { a: 1 } }))).toBeUndefined();
    expect(hintOf(() => parseConfig(s, { n: 1, block: 3 }))).toBeUndefined();
    expect(hintOf(() => parseConfig(s, { n: 1 }))).toBe("block is a block; it takes a");
  });

  it("every config file keel reads gets them: pipeline, world, audit", () => {
    expect(hintOf(() => parsePipelineConfig({ reward_modle: {} }))).toBe(
      'did you mean "reward_model"?',
    );
    expect(hintOf(() => parseWorldConfig({ pannel: {} }))).toBe('did you mean "panel"?');
    expect(hintOf(() => resolveAuditConfig({ verdict: { exclude_a: 0.9 } }))).toBe(
      'did you mean "exclude_at" (verdict.exclude_at)?',
    );
  });

  it("takes a key named like an Object method for an unknown field, not a field of every object", () => {
    const S = z.strictObject({
      model: z
        .strictObject({ arch: z.strictObject({ d_model: z.number() }).optional() })
        .optional(),
      epochs: z.number().optional(),
    });
    for (const key of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      expect(
        hintOf(() => parseConfig(S, JSON.parse(`{"${key}": 1}`))),
        key,
      ).toBeUndefined();
      expect(
        hintOf(() => parseConfig(S, JSON.parse(`{"model": {"${key}": 1}}`))),
        key,
      ).toBe(undefined);
    }
    // A record key "constructor" inside a union with an object: a located error, not a crash.
    const U = z.union([
      z.strictObject({ a: z.number() }),
      z.record(z.string(), z.strictObject({ x: z.strictObject({ y: z.number() }) })),
    ]);
    expect(() => parseRecord(U, JSON.parse('{"constructor": {"x": 5}}'), { line: 1 })).toThrow(
      "line 1: constructor.x: expected an object {y}, received number",
    );
  });
});
