/**
 * Every command behaves as the others do: a flag's bad value is a usage error (64) naming the
 * flag before anything is opened, a timer flag cannot overflow Node's timers, -q is offered
 * wherever --json is and silences progress, and the help shows the defaults a command applies.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATE_DEFAULTS } from "../../src/cli/commands/project.js";
import { LOG_LEVELS } from "../../src/cli/commands/serve.js";
import { buildProgram } from "../../src/cli/main.js";
import { resolveOptions } from "../../src/server/options.js";
import { DEFAULT_SETTINGS } from "../../src/store/collection/projects.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { startRayServer } from "../providers/ray-server.js";
import { tinyCheckpoint } from "../providers/tiny.js";

/** Each runnable command (no subcommands) with its path of names. */
function leaves(c: Command, path: string[] = []): [string[], Command][] {
  return c.commands.flatMap((s) =>
    s.commands.length > 0 ? leaves(s, [...path, s.name()]) : [[[...path, s.name()], s]],
  );
}

function helpOf(path: string[]): string {
  let cmd: Command = buildProgram();
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  return cmd.helpInformation();
}

describe("--log-level", () => {
  // Unchecked, serve failed with KEEL_E_CONFIG "server option logLevel" (78) after opening the
  // store, and serve-model with an internal error from pino (70) after loading the model.
  const nowhere = join(tempDir(), "missing");
  for (const argv of [
    ["serve", "--db", `${nowhere}.db`, "--no-web"],
    ["serve-model", "--checkpoint", nowhere],
    ["serve-rm", "--reward-model", nowhere],
  ])
    it(`keel ${argv[0]} --log-level loud is a usage error naming the flag`, async () => {
      const r = await runCli([...argv, "--log-level", "loud", "--port", "0"]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain("--log-level must be one of fatal, error, warn");
      expect(r.stderr).toContain('"loud"');
    });

  it("lists the levels the servers accept", () => {
    for (const level of LOG_LEVELS) expect(() => resolveOptions({ logLevel: level })).not.toThrow();
  });
});

describe("timer flags", () => {
  // Node fires a timer longer than 2^31 − 1 ms at once: --audit-interval 3000000 (34.7 days)
  // audited every millisecond, and serve-rm --timeout 3000000 failed every request at once; a
  // value under half a millisecond rounded to 0 (never audit; time out at once).
  const nowhere = join(tempDir(), "missing");
  for (const v of ["3000000", "86401", "0.0001"]) {
    it(`keel serve --audit-interval ${v} is refused`, async () => {
      const r = await runCli(["serve", "--db", `${nowhere}.db`, "--audit-interval", v]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(
        "--audit-interval must be a number of seconds from 0.001 to 86400",
      );
    });
    it(`keel serve-rm --timeout ${v} is refused`, async () => {
      const r = await runCli(["serve-rm", "--reward-model", nowhere, "--timeout", v]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain("--timeout must be a number of seconds from 0.001 to 86400");
    });
  }

  it("keep 0 = never for --audit-interval, and refuse it for --timeout", async () => {
    const serve = await runCli(["serve", "--db", `${nowhere}.db`, "--audit-interval", "0"]);
    expect(serve.stderr).toContain("KEEL_E_STORE"); // past the flags, at the missing store
    const rm = await runCli(["serve-rm", "--reward-model", nowhere, "--timeout", "0"]);
    expect(rm.code).toBe(64);
  });
});

describe("keel serve --max-batch", () => {
  it("is refused past the server's limit, naming the flag, before the store is opened", async () => {
    const db = join(tempDir(), "missing.db");
    const r = await runCli(["serve", "--db", db, "--max-batch", "100001"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain("--max-batch must be at most 100000");
    expect(() => resolveOptions({ maxBatch: 100_000 })).not.toThrow();
    expect(() => resolveOptions({ maxBatch: 100_001 })).toThrow();
    // The library's timers too, not only the CLI's flags: a longer setInterval runs every ms.
    for (const key of ["auditIntervalMs", "authCacheMs", "scoresCacheMs"] as const) {
      expect(() => resolveOptions({ [key]: 2 ** 31 - 1 })).not.toThrow();
      expect(() => resolveOptions({ [key]: 2 ** 31 })).toThrow(`server option ${key}`);
    }
  });
});

describe("blank seeds", () => {
  it("keel model init and model generate refuse --seed '', as world generate does", async () => {
    const dir = tempDir();
    const init = await runCli(["model", "init", "-o", join(dir, "m"), "--seed", ""]);
    expect(init.code, init.stderr).toBe(64);
    expect(init.stderr).toContain("--seed must not be blank");
    expect(existsSync(join(dir, "m"))).toBe(false);
    const gen = await runCli(["model", "generate", "-c", join(dir, "m"), "-p", "x", "--seed", " "]);
    expect(gen.code, gen.stderr).toBe(64);
    expect(gen.stderr).toContain("--seed must not be blank");
  });
});

describe("choice flags", () => {
  it("keel model score --scoring is refused in keel's words, as every other choice is", async () => {
    const r = await runCli(["model", "score", "-m", "x", "--scoring", "median", "--json"]);
    expect(r.code).toBe(64);
    const e = JSON.parse(r.stderr).error;
    expect(e.message).toBe('--scoring must be one of mean, worst, uncertainty; got "median"');
  });
});

describe("-q, --quiet", () => {
  it("is offered by every command that offers --json", () => {
    const missing = leaves(buildProgram())
      .filter(([, c]) => c.options.some((o) => o.long === "--json"))
      .filter(([, c]) => !c.options.some((o) => o.long === "--quiet" && o.short === "-q"))
      .map(([path]) => path.join(" "));
    expect(missing).toEqual([]);
  });

  describe("keel launch", () => {
    let ray: Awaited<ReturnType<typeof startRayServer>>;
    beforeAll(async () => {
      ray = await startRayServer(3);
    });
    afterAll(async () => {
      await ray.close();
    });

    it("silences the job's status lines while following it", async () => {
      const args = ["--ray-address", ray.url, "--interval", "0.01"];
      const submit = [
        ...["launch", "openrlhf", "rm", "--pretrain", "m", "--dataset", "d.jsonl"],
        ...["--save-path", "/c", ...args],
      ];
      const loud = await runCli([...submit, "--submission-id", "loud"]);
      expect(loud.code, loud.stderr).toBe(0);
      expect(loud.stderr).toContain("ray job loud: RUNNING");
      const quiet = await runCli([...submit, "--submission-id", "quiet", "-q"]);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe("");
      expect(quiet.stdout).toContain("quiet"); // the submission id and the logs stay
      expect(quiet.stdout).toContain("step 3");
      const logs = await runCli(["launch", "logs", "quiet", "--follow", "-q", ...args]);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stderr).toBe("");
    });
  });
});

describe("help shows the defaults a command applies", () => {
  it("keel serve: the rate limits, batch and audit interval the server takes by default", () => {
    const o = resolveOptions({});
    const help = helpOf(["serve"]).replace(/\s+/g, " ");
    expect(help).toContain(`default: ${o.rateLimits.ip.rate})`);
    expect(help).toContain(`default: ${o.rateLimits.user.rate})`);
    expect(help).toContain(`(default: ${o.maxBatch})`);
    expect(help).toContain(`0 = never; default: ${o.auditIntervalMs / 1000})`);
  });

  it("keel project create: the settings a new project gets", () => {
    const help = helpOf(["project", "create"]).replace(/\s+/g, " ");
    const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    for (const [key, value] of Object.entries(CREATE_DEFAULTS)) {
      expect(value, key).toBe(DEFAULT_SETTINGS[snake(key) as keyof typeof DEFAULT_SETTINGS]);
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      expect(help).toMatch(new RegExp(`${flag} <\\w+> [^-]*\\(default: ${value}\\)`));
    }
    // set changes only what it is given: no defaults there.
    expect(helpOf(["project", "set"])).not.toContain("(default: 3)");
  });
});

describe("--out - (standard output carries the data)", () => {
  // As keel world score, aggregate, redteam and export do, the summary moves to standard error:
  // generate, model generate, model score and audit printed it after the data on stdout, so
  // neither `| jq` nor `> file` got what it asked for.
  let dir: string;
  let ckpt: string;
  beforeAll(async () => {
    dir = tempDir();
    ckpt = await tinyCheckpoint(dir);
    writeFileSync(join(dir, "prompts.jsonl"), '"hello"\n"what is 2+2?"\n');
    writeFileSync(
      join(dir, "pairs.jsonl"),
      `${JSON.stringify({ prompt: "hello", chosen: "hi there, friend", rejected: "4" })}\n`,
    );
  });

  const lines = (text: string) =>
    text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  for (const json of [true, false])
    it(`keeps stdout to the data${json ? " with --json" : ""}`, async () => {
      const flag = json ? ["--json"] : [];
      const gen = await runCli([
        ...["generate", "-p", join(dir, "prompts.jsonl"), "-o", "-", "--checkpoint", ckpt],
        ...["--max-new-tokens", "2", ...flag],
      ]);
      expect(gen.code, gen.stderr).toBe(0);
      expect(lines(gen.stdout).map((r) => r.comparison_id)).toEqual(["g000001", "g000002"]);
      expect(gen.stderr).toContain(json ? '"pairs": 2' : "wrote 2 candidate pairs");

      const sample = await runCli([
        ...["model", "generate", "-c", ckpt, "-p", "hello", "--max-new-tokens", "2"],
        ...["--out", "-", ...flag],
      ]);
      expect(sample.code, sample.stderr).toBe(0);
      expect(lines(sample.stdout)).toEqual([expect.objectContaining({ prompt: "hello" })]);

      const score = await runCli([
        ...["model", "score", "-m", ckpt, "-i", join(dir, "pairs.jsonl"), "-o", "-", ...flag],
      ]);
      expect(score.code, score.stderr).toBe(0);
      expect(lines(score.stdout)).toEqual([expect.objectContaining({ line: 1 })]);
      expect(score.stderr).toContain(json ? '"scored": 1' : "wrote 1 rows to -");
    });

  it("keel audit --out - prints the audit alone on stdout", async () => {
    const world = join(dir, "world");
    const w = await runCli([
      ...["world", "generate", "-c", "examples/world.yaml", "-o", world],
      ...["--comparisons", "60", "-q"],
    ]);
    expect(w.code, w.stderr).toBe(0);
    for (const flag of [["--json"], []]) {
      const r = await runCli(["audit", "--in", join(world, "judgments.jsonl"), "-o", "-", ...flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ format: "keel-audit/1" });
      expect(r.stderr).toContain(flag.length > 0 ? '"out": "-"' : "audited ");
    }
  });
});
