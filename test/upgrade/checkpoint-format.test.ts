/**
 * A checkpoint directory another program or a newer keel wrote is refused by saying so — not
 * by the schema's "expected 1" about a field — and a checkpoint this keel writes still loads.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { refusal } from "../helpers/errors.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-upgrade-ckpt-");
let n = 0;

/** A tiny checkpoint whose config.json is then edited by `edit`. */
async function checkpoint(edit: (config: Record<string, unknown>) => void): Promise<string> {
  const out = join(dir, `c${n++}`);
  const model = new Gpt({ vocab: 11, dModel: 8, layers: 1, heads: 2, context: 6 }, { seed: 1 });
  saveCheckpoint(out, model, { step: 3 });
  await model.dispose();
  const file = join(out, "config.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(config);
  writeFileSync(file, JSON.stringify(config));
  return out;
}

describe("checkpoint format", () => {
  it("loads one this keel wrote", async () => {
    const ck = loadCheckpoint(await checkpoint(() => {}));
    expect(ck.step).toBe(3);
  });

  it("refuses a newer keel's format version as such, with the upgrade to make", async () => {
    const dir = await checkpoint((c) => {
      c.version = 2;
    });
    const e = refusal(() => loadCheckpoint(dir));
    expect(e.code).toBe("KEEL_E_CHECKPOINT");
    expect(e.message).toContain(
      "the checkpoint is in keel-gpt format version 2, written by a newer keel; this keel reads version 1",
    );
    expect(e.where?.field).toBe("version");
    expect(e.hint).toBe("upgrade keel to load it");
  });

  it("refuses another program's config.json as not a keel checkpoint", async () => {
    const dir = await checkpoint((c) => {
      delete c.format;
      c.model_type = "gpt2";
    });
    const e = refusal(() => loadCheckpoint(dir));
    expect(e.code).toBe("KEEL_E_CHECKPOINT");
    expect(e.message).toContain(
      `not a keel checkpoint: config.json's format is null, not "keel-gpt"`,
    );
  });
});
