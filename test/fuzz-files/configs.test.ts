/**
 * Mutation fuzzing of the YAML configs keel reads (examples/*.yaml: world, trainers, pipeline),
 * through the reader and the parser the CLI uses for each: `loadYamlConfig`, then the world's,
 * the pipeline's or the trainer's config parser (the trainer's on the fields `keel train` hands
 * it, its `data:` block with the schema `keel train` checks it with). A mutated config is
 * parsed, or refused with KEEL_E_CONFIG (or another catalogue error) naming the file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { block, DataSchema } from "../../src/cli/actions/train-config-blocks.js";
import type { ConfigSource } from "../../src/core/config.js";
import { loadYamlConfig } from "../../src/io/yaml.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { parseDpoConfig } from "../../src/train/dpo/dpoConfig.js";
import { parsePpoConfig } from "../../src/train/ppo/ppoConfig.js";
import { parseCostConfig } from "../../src/train/rm/costConfig.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";
import { parseSftConfig } from "../../src/train/sft/sftConfig.js";
import { parseWorldConfig } from "../../src/world/config.js";
import { tempDir } from "../helpers/stores.js";
import { mutate, rng } from "./mutate.js";
import { CASES, caseFile, expectRefusal, SEED } from "./refusal.js";

const dir = tempDir("keel-fuzz-config-");
const examples = join(import.meta.dirname, "../../examples");

type Parse = (raw: Record<string, unknown>, source: ConfigSource) => unknown;

/** `keel train`'s split of a config: its own keys, the data block, the rest to the trainer. */
function trainer(parse: (raw: unknown, source: ConfigSource) => unknown): Parse {
  return (raw, source) => {
    const { trainer: _t, out: _o, data, safeguards: _s, redteam: _r, ...rest } = raw;
    block(DataSchema, data, "data", source);
    return parse(rest, source);
  };
}

const PARSERS: [RegExp, Parse][] = [
  [/^world/, (raw, source) => parseWorldConfig(raw, source)],
  [/^pipeline/, (raw, source) => parsePipelineConfig(raw, source)],
  [/^train-sft/, trainer(parseSftConfig)],
  [/^train-rm/, trainer(parseRmConfig)],
  [/^train-cost/, trainer(parseCostConfig)],
  [/^train-dpo/, trainer(parseDpoConfig)],
  [/^train-ppo/, trainer(parsePpoConfig)],
  [/^train-world/, (raw, source) => parseWorldConfig(raw, source)],
];

const configs = readdirSync(examples)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => [f, PARSERS.find(([re]) => re.test(f))?.[1]] as const)
  .filter((x): x is readonly [string, Parse] => x[1] !== undefined);

describe("YAML configs under mutation", () => {
  it("covers every kind of example config", () => {
    expect(configs.length).toBeGreaterThanOrEqual(10);
  });

  for (const [c, [name, parse]] of configs.entries()) {
    it(`${name}: parsed, or refused with a catalogue error naming the file`, async () => {
      const base = readFileSync(join(examples, name));
      // The example itself is valid.
      const { raw, source } = await loadYamlConfig(join(examples, name));
      parse(raw, source);
      const cases = Math.max(20, Math.floor(CASES / 3));
      for (let i = 0; i < cases; i++) {
        const r = rng(SEED + 30_000 + 1000 * c + i);
        const { name: how, bytes } = mutate(base, r, "yaml");
        const path = caseFile(dir, `${c}-${i}-${name}`, bytes);
        const label = `${name} case ${i} (${how}) ${path}`;
        try {
          const loaded = await loadYamlConfig(path);
          expect(Object.getPrototypeOf(loaded.raw), label).toBe(Object.prototype);
          parse(loaded.raw, loaded.source);
        } catch (e) {
          expectRefusal(e, label, path);
        }
      }
    });
  }
});
