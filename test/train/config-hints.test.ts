import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";

function failure(raw: unknown): KeelError {
  try {
    parseRmConfig(raw, { file: "rm.yaml" });
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the config was accepted");
}

describe("trainer config errors", () => {
  const data = { train: "j.jsonl" };

  it("a model's shape written directly under model points to model.arch", () => {
    const e = failure({ data, model: { d_model: 64, layers: 2 } });
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("model.d_model");
    expect(e.hint).toMatch(/model\.arch: \{ d_model, layers, heads, context \}/);
  });

  it("other unknown fields get no such hint", () => {
    const e = failure({ data, model: { init: "ck", colour: "red" } });
    expect(e.where?.field).toBe("model.colour");
    expect(e.hint).toBeUndefined();
  });
});
