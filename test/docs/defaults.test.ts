/**
 * The defaults, limits and ranges that docs/*.md state in prose and tables agree with the code
 * that sets them: the audit policies' presets and detector settings (defend.md), the judgment
 * fields' limits (formats.md), the model servers' work limits and the upstream reading limits
 * (security.md), the trainers' optimizer defaults (train.md), the world's size bounds (world.md)
 * and the store's lock wait (store.md). Each claim is found by a pattern around its words; a
 * claim reworded so that its pattern no longer matches fails here too, so that it is looked at
 * again rather than left unchecked. (The CLI's own defaults are in docs/cli.md, generated from
 * the program and checked by cli-docs.test.ts.)
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JudgmentSchema } from "../../src/core/schemas.js";
import {
  DEFAULT_MAX_ITEMS,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_QUEUED_ITEMS,
  DEFAULT_MAX_REQUEST_TOKENS,
  DEFAULT_RM_BODY_LIMIT,
  DEFAULT_RM_MAX_PENDING,
} from "../../src/core/serving-limits.js";
import { POLICY_PRESETS, type Policy } from "../../src/defend/config.js";
import { MAX_LINE_BYTES, MAX_LINE_VALUES, TOO_LONG_PREFIX_BYTES } from "../../src/io/lines.js";
import { MAX_ANSWER_BYTES } from "../../src/providers/http/request.js";
import { MAX_SSE_LINE } from "../../src/providers/http/sse.js";
import { BUSY_TIMEOUT_MS } from "../../src/store/dialect.js";
import { OptimSchema } from "../../src/train/common/config.js";
import { DpoConfigSchema } from "../../src/train/dpo/dpoConfig.js";
import { PpoConfigSchema } from "../../src/train/ppo/ppoConfig.js";
import { RmConfigSchema, RmTrainSchema } from "../../src/train/rm/rmConfig.js";
import { SftConfigSchema } from "../../src/train/sft/sftConfig.js";
import { WorldConfigSchema } from "../../src/world/config.js";
import { MAX_COMPARISONS, MAX_RATERS, MAX_ROWS } from "../../src/world/limits.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const doc = (name: string) => readFileSync(join(ROOT, "docs", name), "utf8");

/** A number as the docs write it: `1,000,000`, `1e-8`, `10¹⁰`, `32 MiB`, `4 MiB`. */
function docNumber(text: string): number {
  const t = text.trim();
  const power = /^10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/.exec(t);
  if (power) return 10 ** Number([...power[1]!].map((c) => "⁰¹²³⁴⁵⁶⁷⁸⁹".indexOf(c)).join(""));
  const unit = /^([\d.,]+)\s*(KiB|MiB|GiB)$/.exec(t);
  if (unit)
    return (
      Number(unit[1]!.replace(/,/g, "")) * 1024 ** (["KiB", "MiB", "GiB"].indexOf(unit[2]!) + 1)
    );
  const n = Number(t.replace(/,/g, ""));
  if (!Number.isFinite(n) || t === "") throw new Error(`not a number as the docs write one: ${t}`);
  return n;
}

/** The first capture of `pattern` in `text`, or a failure that names the claim. */
function claim(text: string, pattern: RegExp, what: string): string {
  const m = pattern.exec(text);
  if (!m) throw new Error(`the docs no longer state ${what} (pattern ${pattern} not found)`);
  return m[1]!;
}

/** Rows of the markdown table whose header row starts with `header`: cells, trimmed. */
function tableRows(text: string, header: string): string[][] {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith(header));
  if (at < 0) throw new Error(`no table starting ${JSON.stringify(header)}`);
  const rows: string[][] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.startsWith("|")) break;
    rows.push(
      l
        .slice(1, l.endsWith("|") ? -1 : undefined)
        .split("|")
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const BALANCED = POLICY_PRESETS.balanced;
const signal = (path: string): unknown =>
  path
    .split(".")
    .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], BALANCED.signals as unknown);

describe("defend.md: the audit's defaults", () => {
  const text = doc("defend.md");

  it("the policy table gives each policy's verdict thresholds and weights", () => {
    const rows = tableRows(text, "| | strict | balanced | permissive |");
    expect(rows.length).toBeGreaterThanOrEqual(8);
    const policies: Policy[] = ["strict", "balanced", "permissive"];
    for (const [name, ...cells] of rows) {
      const key = /^`([\w.]+)`/.exec(name!)?.[1];
      if (!key) throw new Error(`a policy table row without a field: ${name}`);
      for (const [i, policy] of policies.entries()) {
        const preset = POLICY_PRESETS[policy];
        const cell = cells[i]!;
        if (key === "weights.duplicate_comparisons") {
          const [mode, min] = cell.split(",").map((s) => s.trim());
          expect(mode, `${key} (${policy})`).toBe(preset.weights.duplicate_comparisons);
          if (min !== undefined)
            expect(Number(min), `duplicate_min_cluster (${policy})`).toBe(
              preset.weights.duplicate_min_cluster,
            );
          continue;
        }
        const [group, field] = key.split(".") as ["verdict" | "weights", string];
        const value = (preset[group] as Record<string, unknown>)[field];
        expect(docNumber(cell.split(" ")[0]!), `${key} (${policy})`).toBe(value);
      }
    }
  });

  it("the detector table gives each detector's tolerance", () => {
    const fields: Record<string, readonly string[]> = {
      gold: ["gold.min_accuracy"],
      reliability: ["agreement.tolerance"],
      agreement: ["agreement.tolerance"],
      entropy: ["entropy.tolerance"],
      speed: ["speed.tolerance"],
      position: ["position.tolerance"],
      length: ["length.tolerance"],
      harm: ["harm.tolerance", "harm.concentration"],
      group: ["groups.min_excess"],
      trigger: ["triggers.tolerance"],
      promotion: ["promotion.tolerance"],
    };
    const rows = tableRows(text, "| detector | file | what it measures | tolerance (default) |");
    expect(rows.map((r) => r[0])).toEqual(Object.keys(fields));
    for (const row of rows) {
      const numbers = (row[3]!.match(/\d+(?:\.\d+)?/g) ?? []).map(Number);
      expect(numbers, `${row[0]}'s tolerance`).toEqual(fields[row[0]!]!.map(signal));
    }
    const gold = rows.find((r) => r[0] === "gold")![2]!;
    expect(gold).toContain(
      `Beta(${signal("gold.prior_correct")} + correct, ${signal("gold.prior_wrong")} + wrong)`,
    );
    expect(gold).toContain(`P(accuracy < ${signal("gold.min_accuracy")})`);
    expect(rows.find((r) => r[0] === "speed")![2]).toContain(
      `faster than ${signal("speed.fast_ratio")} × the median`,
    );
  });

  it("the detector settings list gives each setting's default", () => {
    const list = claim(
      text,
      /Detector settings \(([\s\S]*?)\), `safety\.rules`/,
      "the detector settings list",
    );
    const settings = [...list.matchAll(/`(\w+\.\w+)` (\d+(?:\.\d+)?)\b/g)];
    expect(settings.length).toBeGreaterThanOrEqual(15);
    for (const [, path, value] of settings)
      expect(Number(value), `signals.${path}`).toBe(signal(path!));
    expect(
      Number(claim(text, /top-level\s+`min_judgments` \((\d+)\)/, "the default of min_judgments")),
    ).toBe(BALANCED.min_judgments);
    expect(
      Number(
        claim(
          text,
          /more than `groups\.max_raters_per_comparison` raters \((\d+)\)/,
          "the cap on raters per comparison",
        ),
      ),
    ).toBe(signal("groups.max_raters_per_comparison"));
  });
});

describe("formats.md: the limits of a judgment's fields", () => {
  const text = doc("formats.md");
  const base = {
    comparison_id: "c1",
    prompt: "p",
    response_a: "a",
    response_b: "b",
    rater_id: "r1",
    choice: "a",
  };
  /** The limit holds at `n` and fails one past it. */
  const bounded = (field: string, make: (n: number) => unknown, n: number) => {
    expect(
      JudgmentSchema.safeParse({ ...base, [field]: make(n) }).success,
      `${field} at ${n}`,
    ).toBe(true);
    expect(
      JudgmentSchema.safeParse({ ...base, [field]: make(n + 1) }).success,
      `${field} past ${n}`,
    ).toBe(false);
  };
  const row = (field: string) =>
    tableRows(text, "| field | type | notes |").find((r) => r[0]!.includes(`\`${field}\``))!;

  it("ids, texts, rationale, flags, created_at and latency_ms", () => {
    for (const field of ["comparison_id", "rater_id"]) {
      const n = docNumber(claim(row(field)[1]!, /1–([\d,]+) chars/, `the length of ${field}`));
      bounded(field, (k) => "x".repeat(k), n);
      expect(JudgmentSchema.safeParse({ ...base, [field]: "" }).success).toBe(false);
    }
    const text_ = docNumber(claim(row("prompt")[2]!, /up to ([\d,]+) characters/, "text length"));
    bounded("prompt", (k) => "x".repeat(k), text_);
    const rationale = docNumber(claim(row("rationale")[1]!, /≤ ([\d,]+) chars/, "rationale"));
    bounded("rationale", (k) => "x".repeat(k), rationale);
    const [, count, low, high] = /up to (\d+) strings of (\d+)–(\d+) chars/.exec(row("flags")[1]!)!;
    bounded("flags", (k) => Array.from({ length: k }, () => "f"), Number(count));
    bounded("flags", (k) => ["f".repeat(k)], Number(high));
    expect(Number(low)).toBe(1);
    expect(JudgmentSchema.safeParse({ ...base, flags: [""] }).success).toBe(false);
    const date = docNumber(claim(row("created_at")[1]!, /at most (\d+) characters/, "created_at"));
    const stamp = (k: number) => `2026-03-01T10:00:00.${"1".repeat(k - 21)}Z`;
    bounded("created_at", stamp, date);
    const latency = docNumber(claim(row("latency_ms")[1]!, /0 to (\S+)\s*\|?$/, "latency_ms"));
    bounded("latency_ms", (k) => k, latency);
    expect(JudgmentSchema.safeParse({ ...base, latency_ms: -1 }).success).toBe(false);
  });

  it("the line limit and the part of a long line kept for --rejects", () => {
    const line = claim(text, /A JSONL line may be at most (\d+ MiB)/, "the line limit");
    expect(docNumber(line)).toBe(MAX_LINE_BYTES);
    expect(text).toContain(`line is longer than ${MAX_LINE_BYTES} bytes`);
    const kept = claim(text, /kept by their first ([\d,]+)\s+bytes only/, "the rejects prefix");
    expect(docNumber(kept)).toBe(TOO_LONG_PREFIX_BYTES);
    const values = claim(text, /a line of more than ([\d,]+) JSON\s+values/, "the values limit");
    expect(docNumber(values)).toBe(MAX_LINE_VALUES);
  });
});

describe("security.md: the model servers' and upstream readers' limits", () => {
  const text = doc("security.md");
  const at = (pattern: RegExp, what: string) => docNumber(claim(text, pattern, what));

  it("states the defaults the servers use", () => {
    expect(at(/`--max-request-tokens` tokens \(default (\d+)\)/, "serve-model's budget")).toBe(
      DEFAULT_MAX_REQUEST_TOKENS,
    );
    expect(at(/completion requests\s+\(default (\d+):/, "serve-model's --max-pending")).toBe(
      DEFAULT_MAX_PENDING,
    );
    expect(at(/A request carries at most (\d+) queries/, "serve-rm's items per request")).toBe(
      DEFAULT_MAX_ITEMS,
    );
    expect(at(/`--max-queued-items` items \(default (\d+)\)/, "serve-rm's queue")).toBe(
      DEFAULT_MAX_QUEUED_ITEMS,
    );
    expect(
      at(/At most `--max-pending` requests \(default (\d+)\)/, "serve-rm's --max-pending"),
    ).toBe(DEFAULT_RM_MAX_PENDING);
    expect(at(/a\s+body of up to (\d+ MiB) open/, "serve-rm's body limit")).toBe(
      DEFAULT_RM_BODY_LIMIT,
    );
    expect(at(/\((\d+ GiB) at the default\)/, "serve-rm's bound on bodies")).toBe(
      DEFAULT_RM_MAX_PENDING * DEFAULT_RM_BODY_LIMIT,
    );
  });

  it("states how much of an upstream's answer is read", () => {
    expect(at(/an answer is read up to (\d+ MiB)/, "the upstream answer limit")).toBe(
      MAX_ANSWER_BYTES,
    );
    expect(at(/an event-stream line up to (\d+ MiB)/, "the event-stream line limit")).toBe(
      MAX_SSE_LINE,
    );
    expect(at(/lines are capped at (\d+ MiB)/, "the input line limit")).toBe(MAX_LINE_BYTES);
  });
});

describe("train.md: the optimizer's and reward model's defaults", () => {
  const text = doc("train.md");

  it("the optim block's defaults and each trainer's learning rate", () => {
    const block = claim(text, /The `optim` block every trainer shares: ([\s\S]*?none\))/, "optim");
    const optim = OptimSchema.parse({}) as Record<string, unknown>;
    const given = [...block.matchAll(/`(\w+)` \(([\d.e-]+)[ ;)]/g)];
    expect(given.map((g) => g[1])).toEqual([
      "min_lr",
      "warmup",
      "weight_decay",
      "beta1",
      "beta2",
      "eps",
      "max_grad_norm",
    ]);
    for (const [, field, value] of given)
      expect(Number(value), `optim.${field}`).toBe(optim[field!]);
    const lr = (schema: { shape: { optim: { parse(v: unknown): { lr: number } } } }) =>
      schema.shape.optim.parse(undefined).lr;
    const [, sft, rm, rl] =
      /SFT ([\d.e-]+), reward and cost\s+models ([\d.e-]+), PPO and DPO ([\d.e-]+)/.exec(block)!;
    expect(Number(sft)).toBe(lr(SftConfigSchema));
    expect(Number(rm)).toBe(lr(RmConfigSchema));
    expect(Number(rl)).toBe(lr(PpoConfigSchema));
    expect(Number(rl)).toBe(lr(DpoConfigSchema));
  });

  it("label smoothing and the LM regulariser", () => {
    const train = RmTrainSchema.parse({});
    const [, eps, below] = /`train\.label_smoothing` ε \(default ([\d.]+), below ([\d.]+);/.exec(
      text,
    )!;
    expect(Number(eps)).toBe(train.label_smoothing);
    expect(RmTrainSchema.safeParse({ label_smoothing: Number(below) }).success).toBe(false);
    expect(RmTrainSchema.safeParse({ label_smoothing: Number(below) - 1e-9 }).success).toBe(true);
    expect(Number(claim(text, /`train\.lm_coef` \(default ([\d.]+)\)/, "lm_coef"))).toBe(
      train.lm_coef,
    );
  });
});

describe("world.md and store.md: sizes and waits", () => {
  it("the world's size bounds", () => {
    const bounds = claim(doc("world.md"), /exhaust memory: at most ([\s\S]*?\))/, "size bounds");
    const [prompts, comparisons, raters, rows] = [
      /([\d,]+) prompts/,
      /([\d,]+) comparisons/,
      /([\d,]+) raters/,
      /([\d,]+) SFT rows/,
    ].map((p) => docNumber(claim(bounds, p, String(p))));
    expect(comparisons).toBe(MAX_COMPARISONS);
    expect(raters).toBe(MAX_RATERS);
    expect(rows).toBe(MAX_ROWS);
    const count = (n: number) => WorldConfigSchema.safeParse({ prompts: { count: n } }).success;
    expect(count(prompts!)).toBe(true);
    expect(count(prompts! + 1)).toBe(false);
  });

  it("a writer's wait for another's lock", () => {
    const s = claim(doc("store.md"), /A writer waits up to (\d+) s for another's lock/, "the wait");
    expect(Number(s) * 1000).toBe(BUSY_TIMEOUT_MS);
  });
});

describe("docNumber", () => {
  it("reads the docs' ways of writing numbers", () => {
    expect(docNumber("1,000,000")).toBe(1e6);
    expect(docNumber("10¹⁰")).toBe(1e10);
    expect(docNumber("32 MiB")).toBe(32 << 20);
    expect(docNumber("2 GiB")).toBe(2 ** 31);
    expect(docNumber("1e-8")).toBe(1e-8);
    expect(() => docNumber("many")).toThrow();
  });
});
