/** Config files: YAML that cannot be a config is KEEL_E_CONFIG naming the file, never a crash. */
import { describe, expect, it } from "vitest";
import { parseYamlConfig } from "../../src/io/yaml.js";

describe("parseYamlConfig", () => {
  it("refuses aliases that expand without bound (billion laughs) as a config error", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${new Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    expect(() => parseYamlConfig(`${levels.join("\n")}\n`, "bomb.yaml")).toThrow(
      expect.objectContaining({
        code: "KEEL_E_CONFIG",
        where: { file: "bomb.yaml", line: 7 },
        message: expect.stringContaining("aliases expand this value"),
      }),
    );
  });

  it("names the line of a duplicate key", () => {
    expect(() => parseYamlConfig("seed: 1\nseed: 2\n", "dup.yaml")).toThrow(
      expect.objectContaining({ code: "KEEL_E_CONFIG", where: { file: "dup.yaml", line: 2 } }),
    );
  });
});
