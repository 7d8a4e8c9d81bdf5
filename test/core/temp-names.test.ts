import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { removeStaleTemps, resetStaleTempSweep } from "../../src/core/temp-names.js";
import { writeFileAtomic } from "../../src/engine/checkpoint/atomic.js";
import { TextSink } from "../../src/io/files.js";

/** The id of a process that has ended (a child run to completion). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  expect(r.status).toBe(0);
  return r.pid!;
}

/** A file as a killed writer leaves it, last changed `ageMs` ago. */
function leftover(dir: string, name: string, ageMs = 10 * 60_000): string {
  const path = join(dir, name);
  writeFileSync(path, "half of an output");
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
  return path;
}

describe("stale temporary files", () => {
  let dir: string;
  beforeEach(() => {
    resetStaleTempSweep();
    dir = mkdtempSync(join(tmpdir(), "keel-temps-"));
  });

  it("removes a dead writer's files of that output, in both namings, and nothing else", () => {
    const dead = deadPid();
    const hidden = leftover(dir, `.out.jsonl.tmp-${dead}-0`);
    const plain = leftover(dir, `out.jsonl.tmp-${dead}-123456789`);
    const mine = leftover(dir, `.out.jsonl.tmp-${process.pid}-7`);
    const other = leftover(dir, `.other.jsonl.tmp-${dead}-0`);
    const fresh = leftover(dir, `.out.jsonl.tmp-${dead}-1`, 1_000);
    const lookalike = leftover(dir, "out.jsonl.tmp-x-1");
    const removed = removeStaleTemps(join(dir, "out.jsonl"));
    expect(removed.sort()).toEqual([hidden, plain].sort());
    for (const kept of [mine, other, fresh, lookalike]) expect(existsSync(kept)).toBe(true);
  });

  it("treats a name with regex characters literally", () => {
    const dead = deadPid();
    const f = leftover(dir, `.a+b(1).json.tmp-${dead}-0`);
    const g = leftover(dir, `.aab(1).json.tmp-${dead}-0`);
    expect(removeStaleTemps(join(dir, "a+b(1).json"))).toEqual([f]);
    expect(existsSync(g)).toBe(true);
  });

  it("is cleaned when the output is next written: a text sink and an atomic write", async () => {
    const dead = deadPid();
    const a = leftover(dir, `.export.jsonl.tmp-${dead}-3`);
    const sink = new TextSink(join(dir, "export.jsonl"));
    await sink.write("{}\n");
    await sink.commit();
    expect(existsSync(a)).toBe(false);

    const b = leftover(dir, `model.safetensors.tmp-${dead}-42`);
    writeFileAtomic(join(dir, "model.safetensors"), "weights");
    expect(existsSync(b)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["export.jsonl", "model.safetensors"]);
  });

  it("is a no-op for a directory that cannot be listed", () => {
    expect(removeStaleTemps(join(dir, "missing", "out.jsonl"))).toEqual([]);
  });
});
