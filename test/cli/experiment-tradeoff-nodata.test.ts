/**
 * `keel experiment tradeoff` prints a point's missing rate as "–": a point.json kept by
 * --resume from an earlier run can hold null (a rate over no probe), and `(100 * null).toFixed(1)`
 * printed it as a measured "0.0%" (NaN as "NaN%").
 */
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { TradeoffPoint } from "../../src/pipeline/tradeoff.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const points: TradeoffPoint[] = [
  {
    mode: "kl",
    value: 0.1,
    helpfulness: null as unknown as number,
    jailbreak_success: 0.25,
    attack_success: 0.5,
    over_refusal: Number.NaN,
    kl: null,
  },
  {
    mode: "kl",
    value: 0.2,
    helpfulness: 0,
    jailbreak_success: 0.125,
    attack_success: 0.25,
    over_refusal: 0.5,
    kl: 1,
  },
];

vi.mock("../../src/pipeline/tradeoff.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../src/pipeline/tradeoff.js")>()),
  runTradeoff: async () => points,
}));

describe("keel experiment tradeoff: a point with no value for a rate", () => {
  it('prints "–" for null and NaN, and a measured 0 as 0.0%', async () => {
    const dir = tempDir();
    const r = await runCli([
      "experiment",
      "tradeoff",
      "--from",
      join(dir, "run"),
      "--out",
      join(dir, "out"),
      "-q",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^kl\s+0\.1 {2}helpfulness – {2}jailbreak success 25\.0% {2}over-refusal –$/,
    );
    expect(lines[1]).toMatch(
      /^kl\s+0\.2 {2}helpfulness 0\.0% {2}jailbreak success 12\.5% {2}over-refusal 50\.0%$/,
    );
    expect(r.stdout).not.toMatch(/NaN/);
  });
});
