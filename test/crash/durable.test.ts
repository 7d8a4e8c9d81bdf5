/**
 * A power cut is not a SIGKILL: the page cache is lost with it. An output written by TextSink
 * (exports, audits, world files) must be on disk before its rename puts it under the final
 * name, or a file system that does not order the two (XFS; ext4 for a new file) can leave an
 * empty or partial file there. Seen through strace: the temporary file's fsync comes before
 * the rename, and the directory's after it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/stores.js";

const hasStrace = spawnSync("strace", ["-V"]).status === 0;

describe("TextSink on disk", () => {
  it.skipIf(!hasStrace)("syncs the file before renaming it into place, then its directory", () => {
    const dir = tempDir("keel-crash-durable-");
    const out = join(dir, "out.jsonl");
    const log = join(dir, "strace.txt");
    const child = join(import.meta.dirname, "sink-child.ts");
    const run = spawnSync(
      "strace",
      [
        ...["-f", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", log],
        ...[process.execPath, "--import", "tsx", child, out],
      ],
      { encoding: "utf8" },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("x\n");
    // Only the calls on this output's files, in order: "fsync <temp>", "rename", "fsync <dir>".
    const calls = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.includes(dir) && !l.includes("strace.txt"))
      .map((l) => {
        if (/rename/.test(l)) return "rename";
        if (/\.out\.jsonl\.tmp-/.test(l)) return "fsync temp";
        return l.includes(`<${dir}>`) ? "fsync dir" : l;
      });
    expect(calls).toEqual(["fsync temp", "rename", "fsync dir"]);
  });
});
