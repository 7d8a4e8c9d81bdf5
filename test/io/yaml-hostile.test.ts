/**
 * Config files whose YAML would read as something other than what the file shows, or cost far
 * more than its size: each is KEEL_E_CONFIG naming the file and line, never a silent value, a
 * hang or a crash. Merge keys are read, and a field's line is where its value is written.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import {
  loadYamlConfig,
  MAX_ALIASES,
  MAX_CONFIG_BYTES,
  parseYamlConfig,
} from "../../src/io/yaml.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { refusal } from "../helpers/errors.js";

async function loadRefusal(file: string): Promise<KeelError> {
  try {
    await loadYamlConfig(file);
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("accepted");
}

const dir = mkdtempSync(join(tmpdir(), "keel-yaml-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keys written twice", () => {
  it("names both lines", () => {
    const e = refusal(() => parseYamlConfig("seed: 1\nname: x\nseed: 2\n", "dup.yaml"));
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file: "dup.yaml", line: 3 });
    expect(e.message).toBe('dup.yaml:3: the field "seed" is set on line 1 and again here');
    expect(e.hint).toMatch(/keep one/);
  });

  it('counts 1 and "1" as the same field, as the parsed config does', () => {
    // Both become the property "1"; YAML's own check kept the last without a word.
    const e = refusal(() => parseYamlConfig("world:\n  1: a\n  '1': b\n", "num.yaml"));
    expect(e.where).toEqual({ file: "num.yaml", line: 3 });
    expect(e.detail).toContain("on line 2");
  });
});

describe("tags", () => {
  it.each([
    ["name: !foo bar\n", "!foo"],
    ["name: !!js/function 'function () {}'\n", "!!js/function"],
    ["name: !!binary aGVsbG8=\n", "!!binary"],
    ["world: {start: !!timestamp 2025-01-01}\n", "!!timestamp"],
    ["arms: !!set {undefended}\n", "!!set"],
  ])("refuses %j, naming the tag and the line", (text, tag) => {
    const e = refusal(() => parseYamlConfig(`seed: 1\n${text}`, "tag.yaml"));
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file: "tag.yaml", line: 2 });
    expect(e.detail).toBe(`keel does not read the tag ${tag}`);
  });

  it("reads the plain tags (!!str 123 is the string)", () => {
    expect(parseYamlConfig("name: !!str 123\n", "s.yaml").raw).toEqual({ name: "123" });
  });
});

describe("documents and nesting", () => {
  it("refuses a second document at its line, in words about the file", () => {
    const e = refusal(() => parseYamlConfig("seed: 1\n---\nseed: 2\n", "two.yaml"));
    expect(e.where).toEqual({ file: "two.yaml", line: 2 });
    expect(e.detail).toBe("a second YAML document starts here; a config file holds one");
  });

  it("refuses nesting deeper than the parser goes as a config error", () => {
    const e = refusal(() =>
      parseYamlConfig(`world: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, "deep.yaml"),
    );
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.detail).toBe("nested too deeply to read");
  });
});

describe("aliases and merge keys", () => {
  it("reads merge keys; the mapping's own field wins", () => {
    const text =
      "reward_model:\n  optim: &o {lr: 0.001, warmup: 20}\npolicy:\n  ppo:\n    optim: {<<: *o, lr: 0.0001}\n";
    const { raw } = parseYamlConfig(text, "m.yaml");
    expect(raw.policy).toEqual({ ppo: { optim: { lr: 0.0001, warmup: 20 } } });
  });

  it("names the line where a merged value is written", () => {
    const text = "preset: quick\nredteam: &r\n  samples: 0\nbias_probes: {pairs: 1}\n";
    const merged = `${text}report:\n  <<: *r\n`;
    const { raw, source } = parseYamlConfig(merged, "m.yaml");
    expect(source.lineOf?.(["report", "samples"])).toBe(3);
    const e = refusal(() => parsePipelineConfig(raw, source));
    expect(e.where).toMatchObject({ file: "m.yaml", line: 3, field: "redteam.samples" });
  });

  it("refuses a merge key whose value is not a mapping", () => {
    const e = refusal(() => parseYamlConfig("seed: 1\nredteam: {<<: 5}\n", "m.yaml"));
    expect(e.where).toEqual({ file: "m.yaml", line: 2 });
  });

  it("refuses an alias inside the mapping it names (a config that contains itself)", () => {
    const e = refusal(() => parseYamlConfig("seed: 1\nworld: &w\n  again: *w\n", "rec.yaml"));
    expect(e.where).toEqual({ file: "rec.yaml", line: 3 });
    expect(e.detail).toContain("*w");
  });

  it("refuses a few aliases of a long value that expand far past the file", () => {
    const long = "x".repeat(100_000);
    const text = `a: &a '${long}'\nb: [${new Array(50).fill("*a").join(", ")}]\n`;
    const e = refusal(() => parseYamlConfig(text, "wide.yaml"));
    expect(e.where).toEqual({ file: "wide.yaml", line: 2 });
    expect(e.detail).toMatch(/aliases expand this value/);
  });

  it("refuses a merge bomb", () => {
    const lines = ["l0: &l0 {a: 1, b: 2}"];
    for (let i = 1; i <= 12; i++) {
      lines.push(`l${i}: &l${i} {<<: [${new Array(10).fill(`*l${i - 1}`).join(", ")}]}`);
    }
    const e = refusal(() => parseYamlConfig(`${lines.join("\n")}\n`, "merge-bomb.yaml"));
    expect(e.code).toBe("KEEL_E_CONFIG");
  });

  it(`refuses more than ${MAX_ALIASES} aliases`, () => {
    const text = `a: &a 1\nb: [${new Array(MAX_ALIASES + 1).fill("*a").join(", ")}]\n`;
    const e = refusal(() => parseYamlConfig(text, "many.yaml"));
    expect(e.where).toEqual({ file: "many.yaml", line: 2 });
  });
});

describe("keys and lines", () => {
  it("refuses a list or mapping used as a key", () => {
    const e = refusal(() => parseYamlConfig("seed: 1\n? [a, b]\n: 1\n", "k.yaml"));
    expect(e.where).toEqual({ file: "k.yaml", line: 2 });
  });

  it("finds the line of numeric and empty keys, and of fields in flow style", () => {
    const text = "seed: 1\n1: x\n~: y\nworld: {a: {\n  b: 2}}\n";
    const { source } = parseYamlConfig(text, "l.yaml");
    expect(source.lineOf?.(["1"])).toBe(2);
    expect(source.lineOf?.([""])).toBe(3);
    expect(source.lineOf?.(["world", "a", "b"])).toBe(5);
    // A block names the line of its key, not of its first field.
    expect(parseYamlConfig("seed: 1\nworld:\n  a: 1\n", "l.yaml").source.lineOf?.(["world"])).toBe(
      2,
    );
  });
});

describe("the file", () => {
  it(`refuses a file over ${MAX_CONFIG_BYTES} bytes before parsing it`, async () => {
    const file = join(dir, "big.yaml");
    const line = "  - {a: 1, b: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}\n";
    writeFileSync(file, `world:\n${line.repeat(Math.ceil(MAX_CONFIG_BYTES / line.length) + 1)}`);
    const e = await loadRefusal(file);
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where).toEqual({ file });
  });

  it("refuses bytes that are not UTF-8, at their line", async () => {
    const file = join(dir, "latin1.yaml");
    writeFileSync(
      file,
      Buffer.concat([Buffer.from("seed: 1\nname: Tram"), Buffer.from([0xe8, 0x72, 0x0a])]),
    );
    const e = await loadRefusal(file);
    expect(e.where).toEqual({ file, line: 2 });
    expect(e.detail).toBe("not UTF-8 text");
  });

  it("reads a file with a byte-order mark", async () => {
    const file = join(dir, "bom.yaml");
    writeFileSync(file, "\uFEFFseed: 3\n");
    expect((await loadYamlConfig(file)).raw).toEqual({ seed: 3 });
  });

  it("says a directory is one", async () => {
    const e = await loadRefusal(dir);
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.detail).toMatch(/directory/);
  });
});
