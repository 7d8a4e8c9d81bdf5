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
  it("a model's shape written directly under model points to model.arch", () => {
    const e = failure({ model: { d_model: 64, layers: 2 } });
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("model.d_model");
    expect(e.hint).toBe('"d_model", "layers" belong under model.arch: model.arch.d_model');
  });

  it("a near miss of a field names the field; anything else gets no hint", () => {
    const typo = failure({ model: { init: "ck" }, trian: { epochs: 2 } });
    expect(typo.where?.field).toBe("trian");
    expect(typo.hint).toBe('did you mean "train"?');
    const nested = failure({ model: { init: "ck" }, train: { epochz: 2 } });
    expect(nested.hint).toBe('did you mean "epochs" (train.epochs)?');
    const e = failure({ model: { init: "ck", colour: "red" } });
    expect(e.where?.field).toBe("model.colour");
    expect(e.hint).toBeUndefined();
  });
});
