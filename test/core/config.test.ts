import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfig, parseNested } from "../../src/core/config.js";
import { KeelError } from "../../src/core/errors.js";
import { refusal } from "../helpers/errors.js";

describe("parseNested", () => {
  const source = { file: "pipeline.yaml", lineOf: () => 12 };

  it("names the field from the top of the file, with the line and the message as they were", () => {
    const S = z.strictObject({ beta: z.number() });
    const e = refusal(() =>
      parseNested(["policy", "dpo"], source, (src) => parseConfig(S, { beta: "x" }, src)),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file: "pipeline.yaml", line: 12, field: "policy.dpo.beta" });
    expect(e.message).toBe("pipeline.yaml:12: policy.dpo.beta: expected number, received string");
  });

  it("keeps a message that itself says `field: …` whole", () => {
    const e = refusal(() =>
      parseNested(["policy", "dpo"], source, () => {
        throw new KeelError("KEEL_E_CONFIG", "beta: 0 leaves nothing to learn with loss: ipo", {
          where: { file: "pipeline.yaml", line: 3, field: "loss" },
          hint: "raise beta",
        });
      }),
    );
    expect(e.message).toBe(
      "pipeline.yaml:3: policy.dpo.loss: beta: 0 leaves nothing to learn with loss: ipo",
    );
    expect(e.hint).toBe("raise beta");
  });
});
