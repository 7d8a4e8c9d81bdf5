/**
 * What a config error says about the value: inside a union the field the value came closest to,
 * a discriminator's allowed tags in plain words, and what YAML 1.2 made of `yes`, `1_000` or a
 * quoted number where a boolean or number was expected.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfig } from "../../src/core/config.js";
import { parseYamlConfig } from "../../src/io/yaml.js";
import { parseWorldConfig } from "../../src/world/config.js";
import { refusal } from "../helpers/errors.js";

const world = (text: string) => {
  const { raw, source } = parseYamlConfig(text, "world.yaml");
  return refusal(() => parseWorldConfig(raw, source));
};

describe("fields inside a union", () => {
  it("names the field of the closest alternative, at its line", () => {
    const e = world(
      "panel:\n  raters:\n    - type: honest\n      share: 1\n      skill: {mean: 4,\n        sd: x}\n",
    );
    expect(e.where).toEqual({ file: "world.yaml", line: 6, field: "panel.raters.0.skill.sd" });
    expect(e.detail).toBe("expected number, received string");
  });

  it("lists a discriminator's values and suggests the near miss", () => {
    const e = world("panel:\n  raters:\n    - type: honnest\n      share: 1\n");
    expect(e.where).toEqual({ file: "world.yaml", line: 3, field: "panel.raters.0.type" });
    expect(e.detail).toMatch(/^must be one of "honest", "careless", .*; got "honnest"/);
    expect(e.detail).toContain('did you mean "honest"?');
  });

  it("says a missing discriminator is required", () => {
    const e = world("panel:\n  raters:\n    - share: 1\n");
    expect(e.where).toMatchObject({ line: 3, field: "panel.raters.0.type" });
    expect(e.detail).toMatch(/^is required \(one of "honest"/);
  });
});

describe("YAML 1.2 values where numbers and booleans were expected", () => {
  const schema = z.strictObject({ n: z.number().optional(), b: z.boolean().optional() });
  const config = (text: string) => {
    const { raw, source } = parseYamlConfig(text, "c.yaml");
    return refusal(() => parseConfig(schema, raw, source));
  };

  it.each([
    ["n: 1_000", "YAML 1.2 reads 1_000 as text: write 1000"],
    ['n: "7"', '"7" is text: write the number without quotes'],
    ["b: yes", "YAML 1.2 reads yes as text: write true or false"],
    ["b: off", "YAML 1.2 reads off as text: write true or false"],
  ])("%s: says what to write", (text, hint) => {
    const e = config(`${text}\n`);
    expect(e.where).toMatchObject({ file: "c.yaml", line: 1 });
    expect(e.hint).toBe(hint);
  });

  it("gives no such hint for text that is no number", () => {
    expect(config("n: many\n").hint).toBeUndefined();
  });
});

describe("a block with nothing under it", () => {
  it("says YAML read it as null and lists the block's fields", () => {
    const schema = z.strictObject({
      redteam: z
        .strictObject({ per_suite: z.int().optional(), seed: z.int().optional() })
        .optional(),
    });
    const { raw, source } = parseYamlConfig("redteam:\n  # per_suite: 4\n", "c.yaml");
    const e = refusal(() => parseConfig(schema, raw, source));
    expect(e.where).toEqual({ file: "c.yaml", line: 1, field: "redteam" });
    expect(e.hint).toBe(
      "nothing is written under redteam, which YAML reads as null: give its fields (per_suite, seed), or remove the line",
    );
  });
});
