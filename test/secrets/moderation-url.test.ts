import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { writeUnanimousJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const SECRET = "keelModerationKey5";

describe("a key in the moderation endpoint's URL", () => {
  const dir = tempDir("keel-secrets-moderation-");
  const judgments = join(dir, "judgments.jsonl");
  writeUnanimousJudgments(judgments, ["r1", "r2"], ["c1"]);

  for (const safety of [
    `moderation:http://user:${SECRET}@127.0.0.1:9/v1`,
    `moderation:http://127.0.0.1:9/v1?api_key=${SECRET}`,
    // The prefix forgotten: the message quotes what it got.
    `http://user:${SECRET}@127.0.0.1:9/v1`,
  ]) {
    it(`is refused and not printed: ${safety.replace(SECRET, "…")}`, async () => {
      for (const json of [["--json"], ["--out", join(dir, "audit.json")]]) {
        const r = await runCli(["audit", "--in", judgments, "--safety", safety, ...json]);
        expect(r.code).toBe(64);
        expect(r.stderr).toContain("KEEL_E_USAGE");
        expect(r.stderr).toContain("***");
        expect(r.stdout + r.stderr).not.toContain(SECRET);
      }
    });
  }
});
