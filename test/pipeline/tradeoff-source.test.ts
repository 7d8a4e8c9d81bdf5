import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { locationFree } from "../../src/pipeline/tradeoff.js";

describe("the trade-off's source hash", () => {
  const roots = [
    [resolve("/data/runs/demo/points"), "<out>"],
    [resolve("/data/runs/demo"), "<from>"],
  ] as const;

  it("names paths inside --from and --out by the root, whatever their spelling", () => {
    const config = {
      reward: { model: "/data/runs/demo/defended/rm/model" },
      cost: { model: "/data/runs/demo/points/../points/cost/model", threshold: 0 },
      policy: { init: "/data/runs/demo/base/model/" },
      loss: "sigmoid",
      other: "/elsewhere/model",
      list: ["/data/runs/demo", 3],
    };
    expect(locationFree(config, roots)).toEqual({
      reward: { model: "<from>/defended/rm/model" },
      cost: { model: "<out>/cost/model", threshold: 0 },
      policy: { init: "<from>/base/model" },
      loss: "sigmoid",
      other: "/elsewhere/model",
      list: ["<from>", 3],
    });
  });
});
