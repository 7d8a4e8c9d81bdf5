/**
 * Commands that write several files killed between two of their renames (KEEL_CRASH_AFTER_RENAME
 * in keel-child.ts: a moment too short for a timed kill to hit): `keel world generate`'s five
 * files and `keel audit --out --report` must be left all old, all new, or with the journal that
 * the next keel command reading or writing them finishes, never a silent mix of two runs; a
 * `keel model init` killed anywhere must not make the next init into the same directory refuse it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { filesUnder, keel, killTimes, ROOT, tempFiles } from "./helpers.js";

const root = tempDir("keel-crash-sets-");
const JOURNAL = ".keel-outputs.json";
const WORLD_FILES = [
  "judgments.jsonl",
  "truth.json",
  "prompts.jsonl",
  "sft.jsonl",
  "eval_pairs.jsonl",
];
const AUDIT_FILES = ["audit.json", "audit.html"];
// The honest example: at 300 comparisons examples/world.yaml's two entity promoters see almost
// no comparison naming their entity, and a world whose attacker never attacked is refused.
const world = (dir: string, seed: string) => [
  ...["world", "generate", "--config", join(ROOT, "examples/world-honest.yaml")],
  ...["--comparisons", "300", "--seed", seed, "--out", dir, "-q"],
];
/** Kill right after the n-th rename onto one of `files`. */
const afterRename = (n: number, files: readonly string[]) => ({
  KEEL_CRASH_AFTER_RENAME: `${n}:/(${files.map((f) => f.replace(".", "\\.")).join("|")})$`,
});
/** `count` distinct rename counts in 1..max, from `seed`. */
function renameCounts(seed: string, count: number, max: number): number[] {
  const rng = new Rng(seed);
  const all = Array.from({ length: max }, (_, i) => i + 1);
  return Array.from({ length: count }, () => all.splice(rng.int(all.length), 1)[0]!).sort();
}

function read(dir: string, files: readonly string[]): Record<string, Buffer> {
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f))]));
}
function copy(set: Record<string, Buffer>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [f, b] of Object.entries(set)) writeFileSync(join(dir, f), b);
}
function same(dir: string, set: Record<string, Buffer>): boolean {
  return Object.entries(set).every(([f, b]) => readFileSync(join(dir, f)).equals(b));
}

const ref: Record<string, Record<string, Buffer>> = {};
let n = 0;

beforeAll(async () => {
  for (const seed of ["old", "new"]) {
    const dir = join(root, `world-${seed}`);
    const r = await runCli(world(dir, seed));
    expect(r.code, r.stderr).toBe(0);
    ref[`world-${seed}`] = read(dir, WORLD_FILES);
    const a = await runCli(auditArgs(dir, dir));
    expect(a.code, a.stderr).toBe(0);
    ref[`audit-${seed}`] = read(dir, AUDIT_FILES);
  }
});

function auditArgs(judgmentsDir: string, out: string): string[] {
  return [
    ...["audit", "--in", join(judgmentsDir, "judgments.jsonl")],
    ...["--out", join(out, "audit.json"), "--report", join(out, "audit.html"), "-q"],
  ];
}

describe("keel world generate killed between two renames of its files", () => {
  it.each(renameCounts("sets-world", 2, WORLD_FILES.length - 1))(
    "after rename %i: a journal, which a reader finishes; the next run writes its own world",
    async (k) => {
      const dir = join(root, `world-${n++}`);
      copy(ref["world-old"]!, dir);
      const r = await keel(world(dir, "new"), { env: afterRename(k, WORLD_FILES) });
      expect(r.signal, r.stderr).toBe("SIGKILL");
      // Without the journal this is a silent mix of the two worlds.
      expect(existsSync(join(dir, JOURNAL))).toBe(true);
      expect(same(dir, ref["world-old"]!) || same(dir, ref["world-new"]!)).toBe(false);
      // A reader of any of the files (here prompts.jsonl and sft.jsonl) finishes the set first.
      const scored = await runCli([
        ...["world", "score", "--in", join(dir, "sft.jsonl")],
        ...["--prompts", join(dir, "prompts.jsonl"), "--json"],
      ]);
      expect(scored.code, scored.stderr).toBe(0);
      expect(same(dir, ref["world-new"]!)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual([...WORLD_FILES].sort());
      const again = await runCli(world(dir, "old"));
      expect(again.code, again.stderr).toBe(0);
      expect(same(dir, ref["world-old"]!)).toBe(true);
    },
  );

  it("after a rename, the next run finishes the set before writing its own", async () => {
    const dir = join(root, `world-${n++}`);
    copy(ref["world-old"]!, dir);
    const r = await keel(world(dir, "new"), { env: afterRename(1, WORLD_FILES) });
    expect(r.signal, r.stderr).toBe("SIGKILL");
    const again = await runCli(world(dir, "old"));
    expect(again.code, again.stderr).toBe(0);
    expect(same(dir, ref["world-old"]!)).toBe(true);
    expect(filesUnder(dir)).toEqual([...WORLD_FILES].sort());
  });
});

describe("keel audit --out --report killed between its two renames", () => {
  it("leaves a journal; the next audit (or a reader of the audit) finishes the set", async () => {
    const dir = join(root, `audit-${n++}`);
    copy(ref["audit-old"]!, dir);
    const judgments = join(root, "world-new");
    const r = await keel(auditArgs(judgments, dir), { env: afterRename(1, AUDIT_FILES) });
    expect(r.signal, r.stderr).toBe("SIGKILL");
    expect(existsSync(join(dir, JOURNAL))).toBe(true);
    expect(same(dir, ref["audit-old"]!) || same(dir, ref["audit-new"]!)).toBe(false);
    // keel export --clean --audit reads the audit: it finishes the set first.
    const { cleanPlanFor } = await import("../../src/cli/actions/audit.js");
    await cleanPlanFor({ audit: join(dir, "audit.json"), db: join(dir, "unused.db") });
    expect(same(dir, ref["audit-new"]!)).toBe(true);
    expect(filesUnder(dir)).toEqual([...AUDIT_FILES].sort());

    const again = join(root, `audit-${n++}`);
    copy(ref["audit-old"]!, again);
    expect(
      (await keel(auditArgs(judgments, again), { env: afterRename(1, AUDIT_FILES) })).signal,
    ).toBe("SIGKILL");
    const rerun = await runCli(auditArgs(join(root, "world-old"), again));
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(same(again, ref["audit-old"]!)).toBe(true);
    expect(filesUnder(again)).toEqual([...AUDIT_FILES].sort());
  });
});

describe("keel audit --out --report sent SIGTERM as its set is renamed", () => {
  it("finishes the renames and leaves no temporary file or journal", async () => {
    // Before, the files handed to the journal were no longer registered for clean-up, so with
    // none registered keel's SIGTERM handler was gone, and the signal ended the process in the
    // middle of the renames like a SIGKILL, leaving the temporaries and the journal behind.
    const dir = join(root, `audit-${n++}`);
    copy(ref["audit-old"]!, dir);
    const r = await keel(auditArgs(join(root, "world-new"), dir), {
      env: {
        KEEL_CRASH_AFTER_RENAME: `1:/${JOURNAL.replace(".", "\\.")}$`,
        KEEL_CRASH_SIGNAL: "SIGTERM",
      },
    });
    expect(r.signal, r.stderr).not.toBe("SIGTERM");
    expect(filesUnder(dir)).toEqual([...AUDIT_FILES].sort());
    expect(same(dir, ref["audit-new"]!)).toBe(true);
  });
});

describe("keel model init killed", () => {
  const init = (dir: string) => ["model", "init", "--out", dir, "--seed", "3", "-q"];
  let reference: Record<string, Buffer>;
  beforeAll(async () => {
    const dir = join(root, "model-ref");
    const r = await runCli(init(dir));
    expect(r.code, r.stderr).toBe(0);
    reference = read(dir, readdirSync(dir));
  });

  // Its renames: the marker, model.safetensors, config.json.
  const byRename = [1, 2, 3].map((k) => ({
    when: `after rename ${k}`,
    k,
    afterMs: undefined as number | undefined,
  }));
  const byTime = killTimes("sets-model-init", 2, 20).map((afterMs) => ({
    when: `${afterMs} ms after its directory appeared`,
    k: undefined,
    afterMs,
  }));
  it.each([...byRename, ...byTime])(
    "$when: the next init replaces what it left",
    async ({ k, afterMs }) => {
      const dir = join(root, `model-${n++}`);
      const r = await keel(init(dir), {
        ...(k !== undefined ? { env: { KEEL_CRASH_AFTER_RENAME: `${k}:^${dir}/` } } : {}),
        ...(afterMs !== undefined
          ? { kill: { signal: "SIGKILL", afterMs, when: () => existsSync(dir) } }
          : {}),
      });
      if (k !== undefined) expect(r.signal, r.stderr).toBe("SIGKILL");
      else if (!r.killed) expect(r.code, r.stderr).toBe(0);
      // A kill that landed after the init removed its marker (its work done, the process not yet
      // gone, as happens under load) left a finished checkpoint: refused, as any model is.
      const finished =
        existsSync(join(dir, "config.json")) &&
        !existsSync(join(dir, ".keel-init")) &&
        tempFiles(dir).length === 0;
      const again = await runCli(init(dir));
      if (afterMs !== undefined && r.killed && finished) {
        expect(again.code, again.stderr).toBe(64);
        expect(again.stderr).toContain("already holds a checkpoint (config.json)");
      } else expect(again.code, again.stderr).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(Object.keys(reference).sort());
      expect(same(dir, reference)).toBe(true);
      expect(tempFiles(dir)).toEqual([]);
    },
  );

  it("still refuses a real model, other files, and an init another process is writing", async () => {
    const model = join(root, "model-ref");
    expect((await runCli(init(model))).stderr).toContain(
      "already holds a checkpoint (config.json)",
    );
    const user = join(root, `model-${n++}`);
    mkdirSync(user);
    writeFileSync(join(user, ".keel-init"), `{"pid":1}\n`);
    writeFileSync(join(user, "notes.txt"), "mine\n");
    const mixed = await runCli(init(user));
    expect(mixed.code).toBe(64);
    expect(mixed.stderr).toContain(`${user} already holds files`);
    const busy = join(root, `model-${n++}`);
    mkdirSync(busy);
    writeFileSync(join(busy, ".keel-init"), `${JSON.stringify({ pid: process.ppid })}\n`);
    const live = await runCli(init(busy));
    expect(live.code).toBe(75); // KEEL_E_BUSY, as another command holding a directory's lock
    expect(live.stderr).toContain("KEEL_E_BUSY");
    expect(live.stderr).toContain(
      `is being written by another keel model init (process ${process.ppid})`,
    );
  });
});
