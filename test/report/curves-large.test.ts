/**
 * Training curves of a long run: the shared step axis was found with Math.min(...steps), whose
 * spread arguments overflowed the stack at about 100,000 points (two metrics over 50,000 steps),
 * and `keel train plot` failed with "Maximum call stack size exceeded".
 */
import { describe, expect, it } from "vitest";
import { curvePanels, curvesSpec } from "../../src/report/curves.js";

describe("training curves of a long run", () => {
  it("draws 300,000 points on one step axis from the first step to the last", () => {
    const rows = Array.from({ length: 150_000 }, (_, i) => ({
      type: "train" as const,
      step: i + 5,
      loss: 1 / (i + 1),
      reward: i % 7,
    }));
    const panels = curvePanels(rows, ["loss", "reward"]);
    expect(panels.map((p) => p.points.length)).toEqual([150_000, 150_000]);
    const spec = curvesSpec(panels, { title: "long run", events: [{ step: 2, label: "alarm" }] });
    const chart = (spec.vconcat as { hconcat: { layer: { encoding: { x: unknown } }[] }[] }[])[0]!
      .hconcat[0]!;
    expect(chart.layer[0]!.encoding.x).toMatchObject({ scale: { domain: [2, 150_004] } });
  });
});
