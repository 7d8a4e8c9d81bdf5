import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBenchArgs, resultFile } from "../../bench/args.js";

const SPEC = { flags: ["--no-pg"], options: ["--n", "--attacks"], optional: ["--presets"] };
const parse = (...argv: string[]) => parseBenchArgs("test", argv, SPEC);
const usage = (re: RegExp) =>
  expect.objectContaining({ code: "KEEL_E_USAGE", message: expect.stringMatching(re) });

describe("benchmark command lines", () => {
  it("reads flags, integer options, lists and options with an optional value", () => {
    const cli = parse("--quick", "--n", "1e3", "--attacks", "a,b", "--presets");
    expect(cli.quick).toBe(true);
    expect(cli.int("--n", 5)).toBe(1000);
    expect(cli.int("--missing" as string, 5)).toBe(5);
    expect(cli.list("--attacks", ["a", "b", "c"], ["c"])).toEqual(["a", "b"]);
    expect(cli.has("--presets")).toBe(true);
    expect(cli.text("--presets")).toBeUndefined();
    expect(parse("--presets", "demo").text("--presets")).toBe("demo");
    expect(parse("--presets", "--quick").quick).toBe(true);
  });

  it("refuses a misspelt flag, a missing value and a value that is not a count", () => {
    // `--quik` ran the full-size benchmark; `--n abc` one of NaN judgments
    expect(() => parse("--quik")).toThrow(usage(/bench:test: unknown argument "--quik"/));
    expect(() => parse("1000")).toThrow(usage(/unknown argument "1000"/));
    expect(() => parse("--n")).toThrow(usage(/--n needs a value/));
    expect(() => parse("--n", "--quick")).toThrow(usage(/--n needs a value/));
    expect(() => parse("--n", "1", "--n", "2")).toThrow(usage(/--n is given twice/));
    for (const bad of ["abc", "", "1.5", "0", "-3", "Infinity", "1e400"])
      expect(() => parse("--n", bad).int("--n", 1)).toThrow(usage(/--n must be an integer ≥ 1/));
    expect(parse("--n", "0").int("--n", 1, 0)).toBe(0);
    expect(() => parse("--attacks", "a,x").list("--attacks", ["a", "b"], [])).toThrow(
      usage(/--attacks takes a comma-separated list of a, b, got "a,x"/),
    );
    expect(() => parse("--attacks", ",").list("--attacks", ["a", "b"], [])).toThrow(
      usage(/--attacks/),
    );
  });

  it("names the results of a run with other arguments than --quick as partial", () => {
    expect(resultFile("soak", parse())).toBe("soak.json");
    expect(resultFile("soak", parse("--quick"))).toBe("soak.quick.json");
    expect(resultFile("soak", parse("--n", "10"))).toBe("soak.partial.json");
    expect(resultFile("world", parse("--quick", "--no-pg"), "-quick")).toBe(
      "world-quick.partial.json",
    );
  });

  it("a benchmark stops on a bad argument before any work, leaving the committed results alone", () => {
    // `--comparisons 0` ran `keel world generate` on nothing and wrote that over world.json
    const root = join(__dirname, "..", "..");
    const results = join(root, "bench", "results", "world.json");
    const before = { text: readFileSync(results, "utf8"), mtime: statSync(results).mtimeMs };
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "bench", "world.ts"), "--comparisons", "0"],
      { cwd: root, encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stderr).toMatch(/bench:world: --comparisons must be an integer ≥ 1, got "0"/);
    expect(r.status).toBe(64);
    expect(readFileSync(results, "utf8")).toBe(before.text);
    expect(statSync(results).mtimeMs).toBe(before.mtime);
  });
});
