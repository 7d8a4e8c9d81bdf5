/**
 * `keel generate`: candidate pairs from a checkpoint or a provider config, written atomically in
 * the rater web app's item format — `keel project create --items` takes the file as it is.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectionDb, listItems } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "../providers/tiny.js";

describe("keel generate", () => {
  it("writes two sampled responses per prompt that a collection project takes as items", async () => {
    const dir = tempDir();
    const ckpt = await tinyCheckpoint(dir);
    const prompts = join(dir, "prompts.jsonl");
    writeFileSync(
      prompts,
      `${PAIRS.map(([p], i) => (i === 0 ? JSON.stringify(p) : JSON.stringify({ prompt: p }))).join("\n")}\n`,
    );
    const out = join(dir, "items.jsonl");
    const args = ["generate", "--prompts", prompts, "--checkpoint", ckpt, "--out", out];
    const r = await runCli([...args, "--max-new-tokens", "8", "--seed", "3", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ pairs: 3, generated_by: "engine:tiny", altered: 0 });
    const items = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(items.map((i) => [i.comparison_id, i.prompt])).toEqual(
      PAIRS.map(([p], i) => [`g00000${i + 1}`, p]),
    );
    for (const i of items) {
      expect(Object.keys(i).sort()).toEqual([
        "comparison_id",
        "prompt",
        "response_a",
        "response_b",
      ]);
      expect(typeof i.response_a).toBe("string");
    }
    // The same seed gives the same file.
    const again = join(dir, "again.jsonl");
    await runCli([...args.slice(0, -1), again, "--max-new-tokens", "8", "--seed", "3", "-q"]);
    expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
    // Another seed reaches the sampler: other responses (at a temperature where this tiny,
    // overfitted model's samples differ at all).
    const hot = async (seed: string) => {
      const file = join(dir, `hot-${seed}.jsonl`);
      await runCli([
        ...args.slice(0, -1),
        file,
        "--max-new-tokens",
        "8",
        "--temperature",
        "2",
        "--seed",
        seed,
        "-q",
      ]);
      return readFileSync(file, "utf8");
    };
    expect(await hot("4")).not.toBe(await hot("3"));

    const db = join(dir, "k.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const create = await runCli([
      "project",
      "create",
      "gen",
      "--name",
      "Gen",
      "--items",
      out,
      "--db",
      db,
    ]);
    expect(create.code, create.stderr).toBe(0);
    const store = await openStore(db);
    try {
      const listed = await listItems(collectionDb(store), "gen");
      expect(listed.map((x) => x.comparison_id)).toEqual(items.map((i) => i.comparison_id));
      expect(listed.every((x) => x.kind === "task" && x.gold === null)).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);

  it("refuses bad usage with a clear error and leaves no file behind", async () => {
    const dir = tempDir();
    const prompts = join(dir, "p.jsonl");
    writeFileSync(prompts, '"hello"\n');
    const out = join(dir, "o.jsonl");
    const generate = (from: string, ...more: string[]) =>
      runCli(["generate", "--prompts", from, "--out", out, ...more]);
    const neither = await generate(prompts);
    expect(neither.code).toBe(64);
    expect(neither.stderr).toMatch(/exactly one of --checkpoint and --provider/);
    const greedy = await generate(prompts, "--checkpoint", dir, "--temperature", "0");
    expect(greedy.code).toBe(64);
    expect(greedy.stderr).toMatch(/--temperature/);
    const provider = join(dir, "provider.yaml");
    writeFileSync(
      provider,
      "type: openai\nbase_url: http://127.0.0.1:9/v1\nmodel: m\ntempurature: 1\n",
    );
    const typo = await generate(prompts, "--provider", provider);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/provider\.yaml/);
    expect(typo.stderr).toMatch(/tempurature/);
    // An unreachable endpoint fails the run, naming the comparison; nothing is written.
    writeFileSync(
      provider,
      "type: openai\nbase_url: http://127.0.0.1:9/v1\nmodel: m\nretries: 0\n",
    );
    const down = await generate(prompts, "--provider", provider);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/g000001/);
    expect(existsSync(out)).toBe(false);
    const badLine = join(dir, "bad.jsonl");
    writeFileSync(badLine, '"ok"\n{"text": 1}\n');
    const bad = await generate(badLine, "--provider", provider);
    expect(bad.stderr).toMatch(/bad\.jsonl:2/);
  }, 60_000);

  it("refuses an --out that is the prompt file, a checkpoint file or the provider config", async () => {
    // the candidates replaced the prompts they were generated from, silently
    const dir = tempDir();
    const prompts = join(dir, "p.jsonl");
    writeFileSync(prompts, '"hello"\n');
    const provider = join(dir, "provider.yaml");
    writeFileSync(provider, "type: openai\nbase_url: http://127.0.0.1:9/v1\nmodel: m\n");
    const ckpt = join(dir, "ck");
    const cases: [string[], RegExp][] = [
      [["--checkpoint", ckpt, "--out", prompts], /the prompt file being read/],
      [["--checkpoint", ckpt, "--out", join(ckpt, "config.json")], /a file of the checkpoint/],
      [["--provider", provider, "--out", provider], /the provider config/],
    ];
    for (const [args, why] of cases) {
      const r = await runCli(["generate", "--prompts", prompts, ...args]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toMatch(why);
    }
    expect(readFileSync(prompts, "utf8")).toBe('"hello"\n');
  });
});
