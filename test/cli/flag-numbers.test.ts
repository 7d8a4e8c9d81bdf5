/**
 * Numbers on the command line are decimal (`12`, `-0.5`, `.5`, `1e-3`) and nothing else: not
 * hex, octal or binary (`0x10`, `0o17`, `0b11`, which Number() reads as 16, 15 and 3), not padded
 * with blanks, not a non-zero value that underflows to 0 (`1e-400`), not an integer past 2^53 (it
 * would run as another). Each refusal is a usage error naming the flag and the value as given.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { integerArg, numberArg, positiveInt } from "../../src/cli/common.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

describe("numberArg", () => {
  it("reads decimal notation", () => {
    expect(numberArg("12")).toBe(12);
    expect(numberArg("+5")).toBe(5);
    expect(numberArg("-0.5")).toBe(-0.5);
    expect(numberArg(".5")).toBe(0.5);
    expect(numberArg("5.")).toBe(5);
    expect(numberArg("1e3")).toBe(1000);
    expect(numberArg("2.5E-3")).toBe(0.0025);
    expect(numberArg("0e5")).toBe(0);
    expect(numberArg("0.000")).toBe(0);
  });

  it("reads -0 as 0", () => {
    expect(Object.is(numberArg("-0"), 0)).toBe(true);
    expect(Object.is(numberArg("-0.0e3"), 0)).toBe(true);
  });

  it("reads nothing else", () => {
    for (const v of [
      "",
      " ",
      " 5",
      "5 ",
      "5\n",
      "0x10",
      "0o17",
      "0b11",
      "1_000",
      "5abc",
      "1,5",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e999",
      "1e-400",
      "-1e-400",
      "0.0001e-400",
      ".",
      "e5",
      "1e",
      "--5",
      "١٢",
    ])
      expect(numberArg(v), JSON.stringify(v)).toBeNaN();
  });

  it("integer flags take safe integers only", () => {
    expect(integerArg("--seed")("-3")).toBe(-3);
    expect(integerArg("--seed")("9007199254740991")).toBe(9007199254740991);
    expect(() => integerArg("--seed")("9007199254740993")).toThrow(
      '--seed must be an integer, got "9007199254740993"',
    );
    expect(() => integerArg("--n", 0, 10)("11")).toThrow(
      '--n must be an integer from 0 to 10, got "11"',
    );
    expect(positiveInt("--epochs")("1e3")).toBe(1000);
    expect(() => positiveInt("--epochs")("1.5")).toThrow(
      '--epochs must be a positive integer, got "1.5"',
    );
  });
});

/** Flag values the old parsers accepted (as the number in the comment), each refused now. */
const CASES: [string[], string][] = [
  // 16
  [["serve", "--port", "0x10"], '--port must be an integer from 0 to 65535, got "0x10"'],
  // 8080
  [["serve-rm", "--port", " 8080"], '--port must be an integer from 0 to 65535, got " 8080"'],
  // 9007199254740992
  [
    ["generate", "-p", "p.jsonl", "-o", "o.jsonl", "--seed", "9007199254740993"],
    '--seed must be an integer, got "9007199254740993"',
  ],
  // 1 (truncated)
  [
    ["serve-model", "--checkpoint", "x", "--seed", "1.5"],
    '--seed must be an integer from -2147483648 to 2147483648, got "1.5"',
  ],
  // 0: no prior
  [
    ["aggregate", "--method", "bradley-terry", "--prior", "1e-400"],
    '--prior must be a non-negative number, got "1e-400"',
  ],
  // 256
  [
    ["model", "init", "-o", "m", "--vocab", " 256 "],
    '--vocab must be a positive integer, got " 256 "',
  ],
  // 15
  // (--resume without --out: were the seed taken, the demo would stop there, not run)
  [["demo", "--seed", "0o17", "--resume"], '--seed must be an integer ≥ 0, got "0o17"'],
  // 3% poison
  [
    ["experiment", "poison-sweep", "--rates", "0b11"],
    '--rates: "0b11" is not a percentage between 0 and 50',
  ],
  // 9007199254740992
  [
    ["audit", "--safety-label", "9007199254740993"],
    '--safety-label must be a class index (0, 1, …), got "9007199254740993"',
  ],
  // 10 requests a second
  [
    ["serve", "--rate-ip", "0xa"],
    '--rate-ip must be a number from 0 to 1000000 (requests per second; 0 = no limit), got "0xa"',
  ],
  // a burst of 4 × 1e308 = Infinity, refused later as the server option rateLimits.ip.burst
  [
    ["serve", "--rate-user", "1e308"],
    '--rate-user must be a number from 0 to 1000000 (requests per second; 0 = no limit), got "1e308"',
  ],
  // sent to Ray as {"N": null}
  [
    [
      "launch",
      "openrlhf",
      "rm",
      ...["--ray-address", "http://127.0.0.1:9", "--pretrain", "m", "--save-path", "s"],
      ...["--dataset", "d", "--runtime-env-json", '{"env_vars": {"N": 1e999}}'],
    ],
    "--runtime-env-json: env_vars.N is a number past the largest double (read as Infinity, sent as null)",
  ],
  // 9007199254740992, then "Too big: expected int to be <=9007199254740991"
  [
    ["project", "create", "p", "--name", "n", "--overlap", "9007199254740993"],
    '--overlap must be an integer, got "9007199254740993"',
  ],
  // 5.5, then "Invalid input: expected int, received number"
  [
    ["project", "set", "p", "--lease-seconds", "5.5"],
    '--lease-seconds must be an integer, got "5.5"',
  ],
  // the API's range in zod's words: "Too big: expected number to be <=100"
  [
    ["project", "create", "p", "--name", "n", "--overlap", "1000"],
    "--overlap: must be at most 100; got 1000",
  ],
  [["project", "set", "p", "--gold-rate", "0.95"], "--gold-rate: must be at most 0.9; got 0.95"],
  // the seed " "
  [["project", "create", "p", "--name", "n", "--seed", " "], '--seed must not be blank, got " "'],
];

describe("numeric flags refuse what is not a decimal number of their kind", () => {
  // A directory of its own: were a value taken, no command writes into the checkout.
  const cwd = tempDir("keel-flag-numbers-");
  for (const [argv, message] of CASES)
    it(`keel ${argv.join(" ")}`, async () => {
      const r = await runCli(argv, { cwd });
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(message);
    });

  it("--port 0 (any free port) and 65535 still parse; 65536 names the limit", async () => {
    const { portArg } = await import("../../src/cli/commands/serve.js");
    expect(portArg("0")).toBe(0);
    expect(portArg("-0")).toBe(0);
    expect(portArg("65535")).toBe(65535);
    expect(() => portArg("65536")).toThrow('--port must be at most 65535, got "65536"');
    expect(() => portArg("-1")).toThrow('--port must be an integer from 0 to 65535, got "-1"');
  });
});

describe("a blank seed, and numbers from the environment", () => {
  const dir = tempDir("keel-flag-numbers-");

  it('keel world generate --seed " " is refused as --seed "" is', async () => {
    writeFileSync(join(dir, "w.yaml"), "seed: 3\nprompts: { count: 20 }\n");
    const r = await runCli([
      "world",
      "generate",
      "-c",
      join(dir, "w.yaml"),
      "-o",
      join(dir, "w"),
      "--seed",
      " ",
    ]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain('--seed must not be empty or blank, got " "');
  });

  it("KEEL_IMPORT_HEAP_MB is a decimal whole number: not padded, not hex", async () => {
    const file = join(dir, "j.jsonl");
    writeFileSync(file, `${JSON.stringify(makeJudgments(1, 1)[0])}\n`);
    const db = join(dir, "k.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    try {
      for (const v of [" 64", "0x40", "64abc"]) {
        process.env.KEEL_IMPORT_HEAP_MB = v;
        const r = await runCli(["import", file, "--db", db]);
        expect(r.code, v).toBe(64);
        expect(r.stderr).toContain(
          `KEEL_IMPORT_HEAP_MB: ${JSON.stringify(v)} is not a whole number ≥ 32`,
        );
      }
    } finally {
      delete process.env.KEEL_IMPORT_HEAP_MB;
    }
    const s = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    expect(s.judgments).toBe(0);
  });
});
