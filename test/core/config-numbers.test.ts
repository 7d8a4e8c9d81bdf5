/**
 * A config value that is not a finite number (a JSON config's 1e999 and -1e999 read as ±Infinity)
 * is described the same way whichever its sign: "expected number, received -Infinity", not zod's
 * own wording with "Invalid input:" in front; 1.5 where an integer is meant is "must be a whole
 * number", not "expected int, received number"; and a YAML null (`~`, a bare `epochs:`) gets a
 * hint saying that YAML made it null.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfig } from "../../src/core/config.js";
import { refusal } from "../helpers/errors.js";

const Schema = z.strictObject({ lr: z.number().optional(), epochs: z.int().optional() });

describe("config numbers that are not finite", () => {
  for (const [value, shown] of [
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
    [Number.NaN, "NaN"],
  ] as const)
    for (const field of ["lr", "epochs"])
      it(`${field}: ${shown}`, () => {
        const e = refusal(() => parseConfig(Schema, { [field]: value }, { file: "c.json" }));
        expect(e.code).toBe("KEEL_E_CONFIG");
        expect(e.message).toBe(`c.json: ${field}: expected number, received ${shown}`);
      });

  it("a fraction in an integer field is not a whole number (zod: expected int, received number)", () => {
    expect(refusal(() => parseConfig(Schema, { epochs: 1.5 }, { file: "c.yaml" })).message).toBe(
      "c.yaml: epochs: must be a whole number",
    );
  });

  it("seed: ~ (or a bare seed:) is null to YAML, and the hint says so", async () => {
    const { parseYamlConfig } = await import("../../src/io/yaml.js");
    for (const text of ["epochs: ~\n", "epochs:\n", "epochs: null\n"]) {
      const y = parseYamlConfig(text, "t.yaml");
      const e = refusal(() => parseConfig(Schema, y.raw, y.source));
      expect(e.message).toBe("t.yaml:1: epochs: expected number, received null");
      expect(e.hint).toBe(
        "YAML reads ~, null and a bare `epochs:` as null: write a number, or leave the field out",
      );
    }
  });

  it("an empty list item is null too", async () => {
    const { parseYamlConfig } = await import("../../src/io/yaml.js");
    const y = parseYamlConfig("rates:\n  - 1\n  -\n", "l.yaml");
    const e = refusal(() =>
      parseConfig(z.strictObject({ rates: z.array(z.number()) }), y.raw, y.source),
    );
    expect(e.message).toBe("l.yaml:3: rates.1: expected number, received null");
    expect(e.hint).toBe(
      "YAML reads ~, null and an empty list item as null: write a number, or remove the item",
    );
  });

  it("a whole number past 2^53 in an integer field names the largest it takes, and why", () => {
    const e = refusal(() => parseConfig(Schema, JSON.parse('{"epochs": 9007199254740993}')));
    expect(e.message).toBe("epochs: must be at most 9007199254740991");
    // …and why: the number in the file is not the one read.
    expect(e.hint).toBe(
      "past 2^53 − 1 a number no longer holds every whole number: this one reads as 9007199254740992",
    );
    const small = refusal(() => parseConfig(Schema, { epochs: -(2 ** 60) }));
    expect(small.message).toBe("epochs: must be at least -9007199254740991");
    expect(small.hint).toMatch(/reads as -1152921504606846976$/);
    // A bound of the setting's own says nothing of the kind, even past 2^53.
    const Bounded = z.strictObject({ epochs: z.int().max(100), rate: z.number().max(5) });
    expect(refusal(() => parseConfig(Bounded, { epochs: 101 })).hint).toBeUndefined();
    expect(refusal(() => parseConfig(Bounded, { rate: 1e300 })).hint).toBeUndefined();
    expect(refusal(() => parseConfig(Schema, { epochs: 1e300 })).hint).toMatch(/reads as 1e\+300$/);
  });
});
