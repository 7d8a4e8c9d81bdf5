/**
 * Numbers in a YAML config are read as the file shows them, or refused at their line: YAML reads
 * `.inf` and `.nan`, and turns 1e999 into infinity and 1e-400 into 0 without a word. No setting
 * takes a number that is not finite, and a silent 0 would switch a setting off or fail at another
 * field (`temperature: 1e-400` was reported as `redteam.samples`, "greedy decoding…").
 */
import { describe, expect, it } from "vitest";
import { parseYamlConfig } from "../../src/io/yaml.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { refusal } from "../helpers/errors.js";

const CASES: [string, string][] = [
  [".inf", "the number .inf is infinite"],
  ["-.Inf", "the number -.Inf is infinite"],
  [".nan", "the number .nan is not a number"],
  ["1e999", "the number 1e999 is past the largest a number holds (about 1.8e308)"],
  ["-1.5e400", "the number -1.5e400 is past the largest a number holds (about 1.8e308)"],
  ["1e-400", "the number 1e-400 is too small to hold: it would be read as 0"],
  ["-0.001e-330", "the number -0.001e-330 is too small to hold: it would be read as 0"],
];

describe("numbers YAML would change", () => {
  for (const [text, message] of CASES)
    it(`temperature: ${text} is refused at its line`, () => {
      const e = refusal(() =>
        parseYamlConfig(`name: x\nredteam:\n  samples: 1\n  temperature: ${text}\n`, "p.yaml"),
      );
      expect(e.code).toBe("KEEL_E_CONFIG");
      expect(e.message).toBe(`p.yaml:4: ${message}`);
    });

  it("a refused number is found in a list, and as a key", () => {
    expect(refusal(() => parseYamlConfig("a:\n  - 1\n  - 1e999\n", "l.yaml")).message).toBe(
      "l.yaml:3: the number 1e999 is past the largest a number holds (about 1.8e308)",
    );
    expect(refusal(() => parseYamlConfig("m:\n  .nan: 1\n", "k.yaml")).message).toBe(
      "k.yaml:2: the number .nan is not a number",
    );
  });

  it("quoted, they are text (and the schema says so)", () => {
    const y = parseYamlConfig('name: x\nredteam: { temperature: ".inf" }\n', "q.yaml");
    expect(y.raw).toEqual({ name: "x", redteam: { temperature: ".inf" } });
    const e = refusal(() => parsePipelineConfig(y.raw, y.source));
    expect(e.message).toBe("q.yaml:2: redteam.temperature: expected number, received string");
  });

  it("zeros, tiny numbers that a double holds, and YAML 1.2's integer forms are read", () => {
    const y = parseYamlConfig(
      "a: 0\nb: 0.0e-400\nc: -0.0\nd: 5e-324\ne: 1.7976931348623157e308\nf: 0x10\ng: 0o17\nh: 1e3\n",
      "ok.yaml",
    );
    expect(y.raw).toEqual({
      a: 0,
      b: 0,
      c: -0,
      d: 5e-324,
      e: Number.MAX_VALUE,
      f: 16,
      g: 15,
      h: 1000,
    });
  });
});
