/**
 * `keel generate --provider FILE`: an error in the provider file names its line and field, as
 * every other config keel reads does.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel generate --provider", () => {
  const dir = tempDir();
  const prompts = join(dir, "prompts.jsonl");
  writeFileSync(prompts, '{"prompt": "say yes"}\n');
  const generate = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    const out = join(dir, "items.jsonl");
    return runCli(["generate", "--prompts", prompts, "--provider", file, "--out", out]).then(
      (r) => ({ ...r, file }),
    );
  };
  const openai = "type: openai\nbase_url: http://127.0.0.1:9/v1\nmodel: m\n";

  it("a field's value, an unknown field and an unknown type: file:line: field", async () => {
    const api = await generate("api.yaml", `# the local server\n${openai}api: chatt\n`);
    expect(api.code).toBe(78);
    expect(api.stderr).toContain(`${api.file}:5: api: must be one of "chat", "completions"`);
    expect(api.stderr).toContain('did you mean "chat"?');
    const extra = await generate("extra.yaml", `${openai}max_token: 8\n`);
    expect(extra.stderr).toContain(`${extra.file}:4: max_token: unknown field "max_token"`);
    const type = await generate("type.yaml", "type: openaii\n");
    expect(type.stderr).toContain(
      `${type.file}:1: type: unknown generation provider "openaii"; known: openai, engine`,
    );
  });

  it("a provider's own cross-field check is placed at its field's line, named once", async () => {
    const both = await generate("both.yaml", `${openai}api_key: a\napi_key_env: KEY\n`);
    expect(both.code).toBe(78);
    expect(both.stderr).toContain(
      `${both.file}:5: api_key_env: openai provider: give api_key or api_key_env, not both`,
    );
  });
});
