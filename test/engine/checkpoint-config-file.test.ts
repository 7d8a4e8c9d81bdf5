/**
 * config.json that cannot be read is a file error in words (not "not JSON"), and a
 * `__proto__` key in it is refused, as every keel reader of JSON refuses one, rather than
 * dropped unseen by the schema (zod's record rebuilds `extra` by assignment).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfigFile } from "../../src/engine/checkpoint/config-file.js";
import { refusal } from "../helpers/errors.js";

const dir = mkdtempSync(join(tmpdir(), "keel-config-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEAD = {
  format: "keel-gpt",
  version: 1,
  config: { vocab: 270, dModel: 8, layers: 1, heads: 2, context: 8 },
  step: 3,
  files: { "model.safetensors": "0".repeat(64) },
};

let n = 0;
/** A config.json whose `extra` member is the JSON text `extra`. */
function configWithExtra(extra: string): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, `${JSON.stringify(HEAD).slice(0, -1)},"extra":${extra}}`);
  return path;
}

describe("parseConfigFile", () => {
  it("names a config.json it cannot read with the reason, as a file error", () => {
    const path = join(dir, "d", "config.json");
    mkdirSync(path, { recursive: true });
    const e = refusal(() => parseConfigFile(path));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.where?.file).toBe(path);
    expect(e.message).toContain("cannot read config.json: is a directory");
    expect(e.message).not.toContain("not JSON");
  });

  it("still says a file that is not JSON is not JSON", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, "{format:");
    const e = refusal(() => parseConfigFile(path));
    expect(e.code).toBe("KEEL_E_CHECKPOINT");
    expect(e.message).toContain("config.json is not JSON");
  });

  it("refuses a __proto__ key in extra, at any depth, naming where", () => {
    for (const [extra, field] of [
      ['{"kind": "policy", "__proto__": {"trainer": "sft"}}', "extra.__proto__"],
      ['{"kind": "policy", "\\u005f_proto__": 1}', "extra.__proto__"],
      ['{"run": [{"__proto__": null}]}', "extra.run.0.__proto__"],
    ] as const) {
      const e = refusal(() => parseConfigFile(configWithExtra(extra)));
      expect(e.code, extra).toBe("KEEL_E_CHECKPOINT");
      expect(e.message, extra).toContain('the key "__proto__" is not allowed');
      expect(e.where?.field, extra).toBe(field);
    }
  });

  it("keeps every other key of extra", () => {
    const meta = parseConfigFile(configWithExtra('{"kind": "policy", "constructor": {"a": [1]}}'));
    expect(meta.extra).toEqual({ kind: "policy", constructor: { a: [1] } });
    expect(meta.step).toBe(3);
  });
});
