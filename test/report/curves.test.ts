/** Training curves: metrics.jsonl rows to panels, and `keel train plot`. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  curveMetrics,
  curvePanels,
  defaultCurveMetrics,
  type MetricsRow,
} from "../../src/report/curves.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const rows: MetricsRow[] = [
  { type: "train", step: 10, tokens_per_s: 900, lr: 0.001, loss: 2.5, epoch: 0.1 },
  { type: "train", step: 20, tokens_per_s: 950, lr: 0.0009, loss: 2.0, epoch: 0.2 },
  { type: "eval", step: 20, eval_loss: 2.2, eval_ppl: 9.0 },
  { type: "event", step: 20, source: "kl_budget", severity: "stop", message: "KL past budget" },
  { type: "summary", step: 20, loss: 1.0 },
];

describe("curve panels", () => {
  it("puts a train metric and its eval_ twin in one panel; loss first, throughput last", () => {
    expect(curveMetrics(rows)).toEqual(["loss", "lr", "ppl", "tokens_per_s"]);
    const [loss] = curvePanels(rows, ["loss"]);
    // The summary row's loss is not a point of the curve; epoch is the x axis's bookkeeping.
    expect(loss!.points).toEqual([
      { series: "train", x: 10, y: 2.5 },
      { series: "train", x: 20, y: 2.0 },
      { series: "eval", x: 20, y: 2.2 },
    ]);
  });

  it("shows up to 12 main curves by default: no timings, counters or per-family breakdowns", () => {
    const many: MetricsRow[] = [
      {
        type: "train",
        step: 1,
        t_update_s: 1,
        member: 0,
        pairs: 32,
        "accuracy/facts": 0.5,
        ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`m${i}`, i])),
        kl: 0.1,
      },
      { type: "eval", step: 1, eval_accuracy: 0.7 },
    ];
    expect(defaultCurveMetrics(many)).toEqual([
      "accuracy",
      "kl",
      ...Array.from({ length: 10 }, (_, i) => `m${i}`),
    ]);
    expect(curvePanels(many, "all")).toHaveLength(20);
  });

  it("refuses a metric the rows do not hold, naming the ones they do", () => {
    expect(() => curvePanels(rows, ["loss", "acuracy"])).toThrow(
      /no metric "acuracy" in these metrics/,
    );
    try {
      curvePanels(rows, ["acuracy"]);
    } catch (e) {
      expect((e as { hint?: string }).hint).toBe("the metrics logged: loss, lr, ppl, tokens_per_s");
    }
  });
});

describe("keel train plot", () => {
  const run = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "metrics.jsonl"), `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    return dir;
  };

  it("writes RUN/curves.svg with a panel per metric and the events as rules", async () => {
    const dir = run(join(tempDir(), "ppo"));
    const r = await runCli(["train", "plot", dir, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = join(dir, "curves.svg");
    expect(JSON.parse(r.stdout)).toEqual({
      out,
      metrics: ["loss", "lr", "ppl"],
      points: 6,
      events: 1,
      metrics_logged: 4,
    });
    const svg = readFileSync(out, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    for (const title of ["ppo: training curves", ">loss<", ">ppl<"]) expect(svg).toContain(title);
    expect(svg).not.toContain(">tokens_per_s<");
    const all = await runCli(["train", "plot", dir, "-m", "all"]);
    expect(all.stdout).toContain("4 panels (loss, lr, ppl, tokens_per_s), 8 points, 1 events");
    expect(readFileSync(out, "utf8")).toContain(">tokens_per_s<");
    const picked = await runCli([
      "train",
      "plot",
      join(dir, "metrics.jsonl"),
      "-m",
      "ppl",
      "-o",
      join(dir, "p.svg"),
    ]);
    expect(picked.code, picked.stderr).toBe(0);
    expect(picked.stdout).toContain("1 panels (ppl), 1 points, 1 events");
    expect(readFileSync(join(dir, "p.svg"), "utf8")).not.toContain(">lr<");
  });

  it("names the file and line of a bad row, and a run without metrics; never writes over its input", async () => {
    const dir = tempDir();
    const missing = await runCli(["train", "plot", join(dir, "nope")]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain(`${join(dir, "nope")}: no such run directory or metrics file`);
    const empty = await runCli(["train", "plot", dir]);
    expect(empty.code).toBe(66);
    expect(empty.stderr).toContain(join(dir, "metrics.jsonl"));
    const bad = join(dir, "metrics.jsonl");
    writeFileSync(bad, `${JSON.stringify(rows[0])}\n{"type":"train","step":-1,"loss":1}\n`);
    const r = await runCli(["train", "plot", dir]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${bad}:2: step`);
    const only = join(dir, "events.jsonl");
    writeFileSync(only, `${JSON.stringify(rows[3])}\n`);
    const none = await runCli(["train", "plot", only]);
    expect(none.code).toBe(65);
    expect(none.stderr).toContain("no train or eval rows to plot");
    writeFileSync(bad, `${JSON.stringify(rows[0])}\n`);
    const text = readFileSync(bad, "utf8");
    const over = await runCli(["train", "plot", dir, "-o", bad]);
    expect(over.code).toBe(64);
    expect(readFileSync(bad, "utf8")).toBe(text);
    expect(existsSync(join(dir, "curves.svg"))).toBe(false);
    const unknown = await runCli(["train", "plot", dir, "-m", "acuracy"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("the metrics logged: loss, lr, tokens_per_s");
  });
});
