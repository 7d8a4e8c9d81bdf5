/**
 * A blank number option (`--seed "$SEED"` with SEED unset) is a usage error naming the flag, not
 * 0: `--rate-ip ""` would have meant no rate limit, `--prior ""` no prior, `--temperature ""`
 * greedy decoding.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const CASES: [string[], string, string][] = [
  [["serve", "--rate-ip", ""], "--rate-ip", '""'],
  [["serve-model", "--checkpoint", "x", "--seed", " "], "--seed", '" "'],
  [["serve-rm", "--reward-model", "x", "--floor", ""], "--floor", '""'],
  [["redteam", "--checkpoint", "x", "--temperature", ""], "--temperature", '""'],
  [["aggregate", "--method", "bradley-terry", "--prior", ""], "--prior", '""'],
  [["project", "create", "p", "--overlap", ""], "--overlap", '""'],
  [["model", "score", "-m", "x", "--lambda", ""], "--lambda", '""'],
];

describe("blank number options", () => {
  for (const [argv, flag, given] of CASES)
    it(`keel ${argv[0]} ${flag} ${given} is refused`, async () => {
      const r = await runCli(argv);
      expect(r.code, r.stderr).toBe(64);
      // The refusal of the value itself, quoted as given (not another check that happens to fail).
      expect(r.stderr).toMatch(new RegExp(`${flag}.*${given.replace(/ /g, "\\s")}`));
    });
});
