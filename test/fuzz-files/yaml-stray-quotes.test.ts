/**
 * Found by the mutation fuzzer (configs.test.ts): a config line followed by a run of quotes.
 * The yaml library reports one error per quote pair; as pretty errors each quoted the line, so
 * reading cost O(n²): a 198 kB pipeline config took 74 s, a config of MAX_CONFIG_BYTES would
 * take the better part of an hour. Now it is refused at once (this test would time out before).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadYamlConfig, MAX_CONFIG_BYTES } from "../../src/io/yaml.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-fuzz-yaml-");

describe("a YAML config with a line of stray quotes", () => {
  it("is refused at its line and column, at the largest size a config may have", async () => {
    const p = join(dir, "quotes.yaml");
    const head = "seed: 1\narms: [undefended, defended]";
    writeFileSync(p, `${head}${'"'.repeat(MAX_CONFIG_BYTES - head.length - 1)}\n`);
    await expect(loadYamlConfig(p)).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
      where: { file: p, line: 2 },
      message: `${p}:2: invalid YAML: Unexpected double-quoted-scalar at node end (column 29)`,
    });
    // The stack traces turned off while parsing are back.
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});
