/**
 * What the store, file and server commands leave behind in their own process when they fail
 * midway, and when they succeed (resources.ts says what is measured).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { dialectFixtures } from "../helpers/stores.js";
import { REDIS_URL, redisPrefix } from "../scale/helpers.js";
import {
  aFile,
  bad,
  big,
  dir,
  fails,
  good,
  leavesNothing,
  leftSince,
  servesUntilCtrlC,
  settledSnapshot,
  succeeds,
  writeFixtures,
} from "./resources.js";

vi.mock("../../src/core/worker.js", async (real) =>
  (await import("./trackers.js")).trackWorkers(await real()),
);

beforeAll(writeFixtures);

for (const d of dialectFixtures()) {
  describe(`import and export on ${d.name}`, () => {
    let db = "";
    beforeAll(async () => {
      db = d.target();
      expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
    });

    it("an import that fails at a bad line, in the worker and without it", async () => {
      await leavesNothing(["import", bad, "--db", db, "-q"], fails);
      await leavesNothing(["import", bad, "--db", db, "-q", "--no-parallel"], fails);
    });

    // Whether the import was still running when Ctrl-C came or had just finished, what it took
    // must be given back: the parse worker, the writer worker, the transaction's connection.
    it("an import stopped by Ctrl-C", async () => {
      for (const mode of [[], ["--no-parallel"]]) {
        const args = ["import", big, "--db", db, "-q", "--skip-invalid", ...mode];
        args.push("--rejects", join(dir, `${d.name}-rejects.jsonl`));
        const base = await settledSnapshot();
        const run = runCli(args);
        for (let i = 0; i < 2000 && process.listenerCount("SIGINT") <= base.listeners.SIGINT!; i++)
          await new Promise((r) => setTimeout(r, 2));
        process.emit("SIGINT", "SIGINT");
        const r = await run;
        expect(await leftSince(base), `${args.join(" ")}\n${r.stderr}`).toEqual({});
      }
    });

    it("an import whose rejects file cannot be written", async () => {
      const rejects = join(aFile, "rejects.jsonl");
      await leavesNothing(
        ["import", bad, "--db", db, "-q", "--skip-invalid", "--rejects", rejects],
        fails,
      );
      await leavesNothing(
        ["import", bad, "--db", db, "-q", "--skip-invalid", "--rejects", rejects, "--no-parallel"],
        fails,
      );
    });

    it("an import that succeeds, and an export that does", async () => {
      await leavesNothing(["import", good, "--db", db, "-q"], succeeds);
      await leavesNothing(["import", good, "--db", db, "-q", "--no-parallel"], succeeds);
      const out = join(dir, `${d.name}-export.jsonl`);
      await leavesNothing(["export", "-f", "trl", "-o", out, "--db", db, "-q"], succeeds);
    });

    it("an export to a path that cannot be written", async () => {
      const out = join(aFile, "x.jsonl");
      await leavesNothing(["export", "-f", "judgments", "-o", out, "--db", db, "-q"], fails);
    });

    it("an audit of the store, and one with a config that is refused", async () => {
      await leavesNothing(["audit", "--db", db, "--json"], succeeds);
      const cfg = join(dir, "bad-audit.yaml");
      writeFileSync(cfg, "no_such_key: 1\n");
      await leavesNothing(["audit", "--db", db, "--config", cfg, "--json"], fails);
    });

    it("a store that does not exist", async () => {
      const missing = d.target();
      await leavesNothing(["stats", "--db", missing], fails);
    });
  });
}

describe("audit of a file", () => {
  it("with a bad record, and without", async () => {
    await leavesNothing(["audit", "--in", bad, "-q"], fails);
    await leavesNothing(["audit", "--in", good, "-q", "--out", join(dir, "audit.json")], succeeds);
    await leavesNothing(["audit", "--in", good, "-q", "--out", join(aFile, "audit.json")], fails);
  });
});

describe("keel world generate", () => {
  const cfg = join(dir, "world.yaml");
  beforeAll(() => {
    writeFileSync(
      cfg,
      "seed: 1\nprompts: { count: 40 }\ncomparisons: { count: 30 }\nsft: { count: 10 }\n" +
        "eval_pairs: { count: 10 }\npanel: { raters: [{ type: honest, count: 6 }] }\n",
    );
  });

  it("into a path that cannot be written, with a bad config, and as it should", async () => {
    await leavesNothing(["world", "generate", "-c", cfg, "-o", join(aFile, "w"), "-q"], fails);
    const badCfg = join(dir, "bad-world.yaml");
    writeFileSync(badCfg, "seed: 1\nnope: 2\n");
    await leavesNothing(["world", "generate", "-c", badCfg, "-o", join(dir, "w0"), "-q"], fails);
    await leavesNothing(["world", "generate", "-c", cfg, "-o", join(dir, "w1"), "-q"], succeeds);
  });
});

describe("keel run --check", () => {
  it("with a config error, and with the example", async () => {
    const cfg = join(dir, "bad-pipeline.yaml");
    writeFileSync(cfg, "name: x\npreset: quick\npolicy: { algorithm: nope }\n");
    await leavesNothing(["run", "--check", "-c", cfg, "-o", join(dir, "run0")], fails);
    await leavesNothing(
      ["run", "--check", "-c", "examples/pipeline.yaml", "-o", join(dir, "run1")],
      succeeds,
    );
  });
});

describe("keel serve", () => {
  // At the describe's level: the fixture drops its PostgreSQL schemas in an afterAll, which a
  // test body cannot register (the schema was left behind).
  const postgres = dialectFixtures()[1]!;
  let taken: Server;
  let port = 0;
  let db = "";
  beforeAll(async () => {
    db = join(dir, "serve.db");
    expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => taken.close(() => r())));

  it("on a port already in use", async () => {
    const serve = ["serve", "--db", db, "--no-web", "--host", "127.0.0.1"];
    // The port holder's own handles are in the baseline; they must be all that remains.
    await leavesNothing([...serve, "--port", String(port)], fails);
  });

  // The app found the missing index.html after starting its ledger worker, and left it running
  // with the store open: the process did not end after printing the error.
  it("with a --web directory that holds no built app", async () => {
    const web = join(dir, "not-built");
    mkdirSync(web, { recursive: true });
    await leavesNothing(["serve", "--db", db, "--web", web, "--port", "0"], fails);
  });

  // The Redis services connect before the app is built; a build that failed (here: the store's
  // settings table is gone, so the app cannot read its task secret) left their connection open,
  // which kept the process running.
  it("sharing Redis, when the app cannot be built", async () => {
    const pgDb = postgres.target();
    expect((await runCli(["init", "--db", pgDb, "-q"])).code).toBe(0);
    const store = await openStore(pgDb);
    try {
      await store.rawExecute("ALTER TABLE settings RENAME TO settings_gone");
    } finally {
      await store.close();
    }
    const redis = ["--redis", REDIS_URL, "--redis-prefix", redisPrefix()];
    const r = await leavesNothing(
      ["serve", "--db", pgDb, "--no-web", "--port", "0", ...redis],
      fails,
    );
    // If the store is ever checked before Redis connects, this case needs another failing build.
    expect(r.stderr).toContain("settings");
  });

  it("until Ctrl-C", async () => {
    await servesUntilCtrlC(["serve", "--db", db, "--no-web", "--host", "127.0.0.1", "--port", "0"]);
  });
});

describe("buildApp, called as a library", () => {
  // It started its ledger append worker, then failed on the web folder (or any later step),
  // and left the worker running with the store open.
  it("stops its append worker when the app cannot be built", async () => {
    const web = join(dir, "lib-not-built");
    mkdirSync(web, { recursive: true });
    const file = join(dir, "lib.db");
    expect((await runCli(["init", "--db", file, "-q"])).code).toBe(0);
    const failedBuild = async () => {
      const store = await openStore(file);
      try {
        await expect(buildApp(store, { webRoot: web, logLevel: "silent" })).rejects.toThrow(
          /index\.html/,
        );
      } finally {
        await store.close();
      }
    };
    // Once first: the logger's process-wide exit hook (on-exit-leak-free) is set up once and kept.
    await failedBuild();
    const base = await settledSnapshot();
    await failedBuild();
    expect(await leftSince(base)).toEqual({});
  });
});

describe("many commands in one process", () => {
  it("do not pile up signal listeners", async () => {
    mkdirSync(join(dir, "many"), { recursive: true });
    const before = process.listenerCount("SIGINT");
    for (let i = 0; i < 12; i++) await runCli(["audit", "--in", bad, "-q"]);
    expect(process.listenerCount("SIGINT")).toBe(before);
  });
});
