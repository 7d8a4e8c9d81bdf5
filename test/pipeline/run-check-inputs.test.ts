/** `keel run` (and `--check`) find every file the config names before anything runs. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel run: the config's input paths", () => {
  const dir = tempDir("keel-run-inputs-");
  const cases: [string, string, string][] = [
    ["prompts", "prompts: { from: file, path: MISSING }", "no prompts file at MISSING"],
    ["collect-import", "collect: { from: import, path: MISSING }", "no judgments file at MISSING"],
    ["collect-store", "collect: { from: store, path: MISSING }", "no keel store at MISSING"],
  ];
  for (const [name, block, message] of cases)
    it(`${name}: a missing path fails with its file, line and field`, async () => {
      const missing = join(dir, `${name}-missing.jsonl`);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, `name: x\npreset: quick\n${block.replace("MISSING", missing)}\n`);
      const field = block.startsWith("prompts") ? "prompts.path" : "collect.path";
      const out = join(dir, name);
      for (const check of [["--check"], []]) {
        const r = await runCli(["run", "-c", file, "-o", out, ...check, "-q"]);
        expect(r.code, r.stderr).toBe(66);
        expect(r.stderr).toContain(
          `KEEL_E_NOT_FOUND: ${file}:3: ${field}: ${message.replace("MISSING", missing)}`,
        );
      }
      expect(existsSync(out)).toBe(false);
    });

  it("a directory where a file belongs fails as missing, and says it is a directory (--check crashed on EISDIR)", async () => {
    const file = join(dir, "dir.yaml");
    for (const [block, message] of [
      [
        "collect: { from: import, path: DIR }",
        "collect.path: no judgments file at DIR (that is a directory)",
      ],
      [
        "prompts: { from: file, path: DIR }",
        "prompts.path: no prompts file at DIR (that is a directory)",
      ],
    ] as const) {
      writeFileSync(file, `name: x\npreset: quick\n${block.replace("DIR", dir)}\n`);
      const r = await runCli(["run", "-c", file, "-o", join(dir, "dir-out"), "--check", "-q"]);
      expect(r.code, r.stderr).toBe(66);
      expect(r.stderr).toContain(`KEEL_E_NOT_FOUND: ${file}:3: ${message.replace("DIR", dir)}`);
    }
  });

  it("collect-store: an in-memory store, new and empty, fails before anything runs", async () => {
    const file = join(dir, "memory.yaml");
    writeFileSync(file, 'name: x\npreset: quick\ncollect: { from: store, path: ":memory:" }\n');
    const out = join(dir, "memory");
    for (const check of [["--check"], []]) {
      const r = await runCli(["run", "-c", file, "-o", out, ...check, "-q"]);
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(
        `KEEL_E_CONFIG: ${file}:3: collect.path: :memory: is a new, empty store`,
      );
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe("keel run: a generation provider's error", () => {
  const dir = tempDir("keel-run-provider-");
  it("names the pipeline config's file, the field's line and its full path", async () => {
    const file = join(dir, "provider.yaml");
    writeFileSync(
      file,
      [
        "name: x",
        "preset: quick",
        "generate:",
        "  from: provider",
        "  provider:",
        "    type: openai",
        "    base_url: http://127.0.0.1:9/v1",
        "    model: m",
        "    api: chatt",
        "",
      ].join("\n"),
    );
    const r = await runCli(["run", "-c", file, "-o", join(dir, "out"), "--check", "-q"]);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain(`KEEL_E_CONFIG: ${file}:9: generate.provider.api:`);
  });
});
