/**
 * `keel train plot RUN -o PATH` refuses a PATH that is part of the run it plots — its
 * config.yaml, its manifest.json, a file in its model/ or checkpoints/ — which the plot would
 * overwrite; a plot beside them is written as before.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

function run(): string {
  const dir = join(tempDir(), "sft");
  mkdirSync(join(dir, "model"), { recursive: true });
  writeFileSync(
    join(dir, "metrics.jsonl"),
    `${[1, 2, 3].map((s) => JSON.stringify({ type: "train", step: s, loss: 3 - s / 2 })).join("\n")}\n`,
  );
  writeFileSync(join(dir, "config.yaml"), "trainer: sft\n");
  writeFileSync(join(dir, "manifest.json"), "{}\n");
  writeFileSync(join(dir, "model", "config.json"), '{"kept": true}\n');
  return dir;
}

describe("keel train plot -o into the run it plots", () => {
  for (const target of ["manifest.json", "config.yaml", join("model", "config.json")]) {
    it(`refuses ${target} and leaves it as it was`, async () => {
      const dir = run();
      const path = join(dir, target);
      const before = readFileSync(path, "utf8");
      const r = await runCli(["train", "plot", dir, "-o", path]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain("part of the run being plotted");
      expect(readFileSync(path, "utf8")).toBe(before);
    });
  }

  it("writes a plot beside the run's files", async () => {
    const dir = run();
    const r = await runCli(["train", "plot", dir, "-o", join(dir, "loss.svg")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "loss.svg"), "utf8").startsWith("<svg")).toBe(true);
  });
});
