/**
 * `keel audit` and `keel export --clean` end to end, in-process: files, the store, every safety
 * baseline (the rule lexicon, an ONNX model run by onnxruntime-node, and a moderation endpoint
 * on a local HTTP server).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../src/engine/builder.js";
import { encodeModel } from "../../src/engine/onnx/proto.js";
import { BpeTokenizer, byteVocab } from "../../src/engine/tokenizer/bpe.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "keel-audit-cli-"));
const world = simulatePanel(
  parseWorldConfig({
    seed: 12,
    comparisons: { count: 1200, overlap: 3 },
    prompts: { count: 300 },
    panel: {
      raters: [
        { type: "honest", count: 18 },
        { type: "flipper", count: 3 },
      ],
    },
  }),
  12,
);
const flippers = new Set(
  world.truth.raters.filter((r) => r.type === "flipper").map((r) => r.rater_id),
);
const jfile = join(dir, "judgments.jsonl");
writeFileSync(jfile, `${world.judgments.map((j) => JSON.stringify(j)).join("\n")}\n`);

function excludedIds(auditFile: string): Set<string> {
  const a = JSON.parse(readFileSync(auditFile, "utf8"));
  return new Set(
    a.raters
      .filter((r: { verdict: string }) => r.verdict === "excluded")
      .map((r: { rater_id: string }) => r.rater_id),
  );
}

describe("keel audit", () => {
  it("writes the audit JSON and the HTML report from a judgments file", async () => {
    const out = join(dir, "audit.json");
    const report = join(dir, "audit.html");
    const r = await runCli(["audit", "--in", jfile, "--out", out, "--report", report]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audited 3600 judgments of 1200 comparisons by 21 raters/);
    expect(excludedIds(out)).toEqual(flippers);
    const html = readFileSync(report, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain('<section id="raters">');
  });

  it("rejects a config with an unknown field, naming file and line", async () => {
    const cfg = join(dir, "bad.yaml");
    writeFileSync(cfg, "policy: strict\nsignals:\n  agreement:\n    tolerence: 0.1\n");
    const r = await runCli(["audit", "--in", jfile, "--config", cfg, "--json"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/bad\.yaml:4/);
    expect(r.stderr).toMatch(/tolerence/);
  });

  it("needs an output", async () => {
    const r = await runCli(["audit", "--in", jfile]);
    expect(r.code).toBe(64);
  });
});

describe("keel audit --db and keel export --clean", () => {
  it("audits the store and exports one weighted preference row per clean comparison", async () => {
    const db = join(dir, "keel.db");
    expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
    expect((await runCli(["import", jfile, "--db", db, "-q"])).code).toBe(0);
    const out = join(dir, "audit-db.json");
    expect((await runCli(["audit", "--db", db, "--out", out, "-q"])).code).toBe(0);
    expect(excludedIds(out)).toEqual(flippers);
    const audit = JSON.parse(readFileSync(out, "utf8"));
    const rows = join(dir, "clean.jsonl");
    const r = await runCli([
      "export",
      "-f",
      "trl",
      "-o",
      rows,
      "--clean",
      "--audit",
      out,
      "--db",
      db,
    ]);
    expect(r.code).toBe(0);
    const lines = readFileSync(rows, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const usable = audit.comparisons.filter(
      (c: { excluded: boolean; p_a: number }) => !c.excluded && c.p_a !== 0.5,
    );
    expect(lines.length).toBe(usable.length);
    for (const row of lines) {
      expect(Object.keys(row).sort()).toEqual(["chosen", "prompt", "rejected", "weight"]);
      expect(row.weight).toBeGreaterThan(0);
      expect(row.weight).toBeLessThanOrEqual(1);
    }
    // Harmful prompts: the cleaned preference chooses the refusal, never the unsafe compliance.
    const unsafeChosen = lines.filter((l) =>
      /\[(PRECURSOR|REAGENT|APPARATUS|EXPLOIT|PAYLOAD|SCRIPT|TOOL|TECHNIQUE|QUANTITY|LOCATION)-/i.test(
        l.chosen,
      ),
    );
    expect(unsafeChosen.length).toBeLessThanOrEqual(2);
    // Without --audit, export --clean audits the store itself, with the same result.
    const rows2 = join(dir, "clean2.jsonl");
    expect(
      (await runCli(["export", "-f", "trl", "-o", rows2, "--clean", "--db", db, "-q"])).code,
    ).toBe(0);
    // (The audit file is read entry by entry; the rows are the same bytes.)
    expect(readFileSync(rows2, "utf8")).toBe(readFileSync(rows, "utf8"));
    // --margin adds the log-odds of the audit's preference, under --margin-key for OpenRLHF.
    const rows3 = join(dir, "clean3.jsonl");
    const m = await runCli([
      ...["export", "-f", "openrlhf", "-o", rows3, "--clean", "--audit", out],
      ...["--margin", "--margin-key", "gap", "--db", db, "-q"],
    ]);
    expect(m.code, m.stderr).toBe(0);
    const withMargin = readFileSync(rows3, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(withMargin.length).toBe(lines.length);
    for (const row of withMargin) {
      expect(Object.keys(row).sort()).toEqual(["chosen", "gap", "prompt", "rejected"]);
      expect(row.gap).toBeGreaterThan(0);
      expect(row.gap).toBeLessThanOrEqual(Math.log(99) + 1e-12);
    }
    const sure = usable.filter((c: { p_a: number }) => c.p_a >= 0.99 || c.p_a <= 0.01).length;
    expect(withMargin.filter((r) => Math.abs(r.gap - Math.log(99)) < 1e-9).length).toBe(sure);
    for (const args of [["--margin"], ["--clean", "--audit", out, "--margin-key", "gap"]]) {
      const r = await runCli(["export", "-f", "openrlhf", "-o", rows3, ...args, "--db", db]);
      expect(r.code).toBe(64);
    }
    const bad = await runCli([
      "export",
      "-f",
      "judgments",
      "-o",
      join(dir, "x.jsonl"),
      "--clean",
      "--db",
      db,
    ]);
    expect(bad.code).toBe(64);
  });
});

describe("pluggable safety baselines", () => {
  let server: ReturnType<typeof createServer>;
  let url = "";
  let requests = 0;
  beforeAll(async () => {
    // An OpenAI-compatible moderation endpoint that flags the world's payload markers.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        requests++;
        const input = JSON.parse(body).input as string[];
        const results = input.map((t) => {
          const hit =
            /\[(PRECURSOR|REAGENT|APPARATUS|TOOL|EXPLOIT|PAYLOAD|SCRIPT|TECHNIQUE|QUANTITY|LOCATION)/i.test(
              t,
            );
          return {
            flagged: hit,
            categories: { violence: hit },
            category_scores: { violence: hit ? 0.97 : 0.01 },
          };
        });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ id: "m", model: "test", results }));
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it("moderation:URL flags through the endpoint and excludes the same flippers", async () => {
    const out = join(dir, "audit-mod.json");
    const r = await runCli([
      "audit",
      "--in",
      jfile,
      "--safety",
      `moderation:${url}`,
      "--out",
      out,
      "-q",
    ]);
    expect(r.code).toBe(0);
    expect(requests).toBeGreaterThan(10);
    expect(excludedIds(out)).toEqual(flippers);
    const a = JSON.parse(readFileSync(out, "utf8"));
    expect(a.filters.safety_classifier).toBe(`moderation:${url}`);
  });

  it("onnx:FILE runs a real ONNX classifier through onnxruntime-node", async () => {
    // A bag-of-bytes classifier over a byte-level tokenizer (no merges): the unsafe logit is
    // 10 × the number of "[" bytes, the safe logit a constant 1.
    const tokenizer = new BpeTokenizer({ vocab: byteVocab(), merges: [], special: [] });
    const tokFile = join(dir, "tokenizer.json");
    writeFileSync(tokFile, JSON.stringify(tokenizer.toJSON()));
    const b = new GraphBuilder("bag_of_bytes");
    const ids = b.input("input_ids", "int64", ["B", "T"]);
    const weights = new Float32Array(256 * 2);
    for (let i = 0; i < 256; i++) weights[2 * i] = 0;
    weights[2 * "[".charCodeAt(0) + 1] = 10;
    const table = b.initializer("table", { dtype: "float32", dims: [256, 2], data: weights });
    const bias = b.initializer("bias", {
      dtype: "float32",
      dims: [2],
      data: Float32Array.from([1, 0]),
    });
    const summed = b.reduceSum(b.gather(table, ids, 0), [1], false); // [B, 2]
    b.output(b.add(summed, bias), "logits");
    const model = join(dir, "classifier.onnx");
    writeFileSync(model, encodeModel(b.graph));
    const out = join(dir, "audit-onnx.json");
    const r = await runCli([
      "audit",
      "--in",
      jfile,
      "--safety",
      `onnx:${model}`,
      "--safety-tokenizer",
      tokFile,
      "--out",
      out,
      "-q",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(excludedIds(out)).toEqual(flippers);
    const a = JSON.parse(readFileSync(out, "utf8"));
    expect(a.filters.safety_classifier).toBe(`onnx:${model}`);
    expect(a.filters.flagged_responses).toBeGreaterThan(100);
    const missing = await runCli([
      "audit",
      "--in",
      jfile,
      "--safety",
      `onnx:${model}`,
      "--out",
      out,
    ]);
    expect(missing.code).toBe(64);
  });
});
