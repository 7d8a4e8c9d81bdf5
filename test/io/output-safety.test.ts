/**
 * Where an output goes: never over the file being read (the store, the import's input), through
 * a symbolic link to its target, in place into a device or FIFO, with an existing file's
 * permissions kept, and with no temporary file left behind by a failure or Ctrl-C.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  createReadStream,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { KeelError } from "../../src/core/errors.js";
import { TextSink } from "../../src/io/files.js";
import { resolveOutputTarget, sqliteFiles } from "../../src/io/output-target.js";
import { tempDir } from "../helpers/stores.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = tempDir("keel-out-");
let n = 0;
const fresh = () => {
  const d = join(dir, `d${n++}`);
  mkdirSync(d);
  return d;
};

function thrown(fn: () => unknown): KeelError {
  try {
    fn();
  } catch (e) {
    return e as KeelError;
  }
  throw new Error("expected a failure");
}

async function writeAll(path: string, text: string, protect = sqliteFiles("/nowhere.db", "x")) {
  const sink = new TextSink(path, { protect });
  await sink.write(text);
  await sink.commit();
}

describe("TextSink", () => {
  it("refuses the store's file, its journals and the input, however they are named", () => {
    const d = fresh();
    const store = join(d, "victim.db");
    writeFileSync(store, "store");
    writeFileSync(`${store}-wal`, "wal");
    symlinkSync(store, join(d, "alias.db"));
    linkSync(store, join(d, "hard.db"));
    const protect = sqliteFiles(store, "the feedback store");
    for (const out of ["victim.db", "./victim.db", "alias.db", "hard.db", "victim.db-wal"]) {
      const e = thrown(() => new TextSink(join(d, out), { protect }));
      expect(e.code, out).toBe("KEEL_E_USAGE");
      expect(e.message).toContain("writing the output there would destroy it");
    }
    // -shm does not exist yet; SQLite may create it: refused by its path all the same.
    expect(thrown(() => new TextSink(`${store}-shm`, { protect })).code).toBe("KEEL_E_USAGE");
    expect(readFileSync(store, "utf8")).toBe("store");
    expect(readdirSync(d).sort()).toEqual(["alias.db", "hard.db", "victim.db", "victim.db-wal"]);
  });

  it("keeps an existing file's permissions", async () => {
    const d = fresh();
    const path = join(d, "private.jsonl");
    writeFileSync(path, "old\n", { mode: 0o600 });
    await writeAll(path, "new\n");
    expect(readFileSync(path, "utf8")).toBe("new\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("keeps permissions wider than the umask allows a new file", async () => {
    const d = fresh();
    const path = join(d, "shared.jsonl");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o664);
    const umask = process.umask(0o077);
    try {
      await writeAll(path, "new\n");
    } finally {
      process.umask(umask);
    }
    expect(statSync(path).mode & 0o777).toBe(0o664);
  });

  it("replaces a symbolic link's target, not the link", async () => {
    const d = fresh();
    writeFileSync(join(d, "target.jsonl"), "old\n");
    symlinkSync("target.jsonl", join(d, "link.jsonl"));
    await writeAll(join(d, "link.jsonl"), "new\n");
    expect(lstatSync(join(d, "link.jsonl")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, "target.jsonl"), "utf8")).toBe("new\n");
    symlinkSync("missing.jsonl", join(d, "dangling.jsonl"));
    expect(thrown(() => new TextSink(join(d, "dangling.jsonl"))).code).toBe("KEEL_E_FILE");
  });

  it("writes into a device or a FIFO in place, and refuses a directory", async () => {
    // Decided, not tried: run as root, a rename would replace the machine's /dev/null.
    expect(resolveOutputTarget("/dev/null")).toEqual({ kind: "direct", path: "/dev/null" });
    const d = fresh();
    const fifo = join(d, "pipe");
    execFileSync("mkfifo", [fifo]);
    const read = new Promise<string>((resolve) => {
      let text = "";
      createReadStream(fifo)
        .on("data", (c) => {
          text += String(c);
        })
        .on("end", () => resolve(text));
    });
    await writeAll(fifo, "through the pipe\n");
    expect(await read).toBe("through the pipe\n");
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(d)).toEqual(["pipe"]);
    expect(thrown(() => new TextSink(d)).message).toContain("is a directory");
  });

  it("finishes a file without renaming it: abort after finish leaves nothing, commit puts it in place", async () => {
    const d = fresh();
    const a = new TextSink(join(d, "a.jsonl"));
    const b = new TextSink(join(d, "b.jsonl"));
    await a.write("one\n");
    await b.write("two\n");
    await a.finish();
    // Written out and closed, but not in place: a second file failing would abort both.
    expect(readdirSync(d).filter((f) => !f.startsWith("."))).toEqual([]);
    await a.abort();
    await b.finish();
    await b.commit();
    expect(readdirSync(d)).toEqual(["b.jsonl"]);
    expect(readFileSync(join(d, "b.jsonl"), "utf8")).toBe("two\n");
  });

  it("writes to its temporary file as it goes, holding only a small buffer in memory", async () => {
    const d = fresh();
    const sink = new TextSink(join(d, "big.jsonl"));
    const line = `${"x".repeat(1023)}\n`;
    for (let i = 0; i < 1024; i++) await sink.write(line); // 1 MiB
    // All but the last buffer's worth is on disk before the commit.
    expect(statSync(sink.tempPath!).size).toBeGreaterThanOrEqual(1024 * 1024 - (1 << 16));
    expect(readdirSync(d).filter((f) => !f.startsWith("."))).toEqual([]);
    await sink.commit();
    expect(statSync(join(d, "big.jsonl")).size).toBe(1024 * 1024);
  });

  it("fails at once, before any work, for a directory that does not exist", () => {
    const e = thrown(() => new TextSink(join(dir, "no-such-dir", "r.jsonl")));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.message).toContain("no-such-dir/r.jsonl: cannot write: no such file or directory");
  });

  it("removes its temporary file on abort, on an unhandled Ctrl-C and at exit; a graceful stop still commits", async () => {
    const d = fresh();
    const aborted = new TextSink(join(d, "a.jsonl"));
    await aborted.write("x\n");
    await aborted.abort();
    expect(readdirSync(d)).toEqual([]);
    const child = join(ROOT, "test/io/temp-child.ts");
    const run = (how: string) => {
      const sub = fresh();
      const r = spawnSync(process.execPath, ["--import", "tsx", child, sub, how], {
        encoding: "utf8",
        timeout: 60_000,
      });
      return { r, files: readdirSync(sub), sub };
    };
    const signal = run("signal");
    expect(signal.r.signal, signal.r.stderr).toBe("SIGINT");
    expect(signal.files).toEqual([]);
    const exit = run("exit");
    expect(exit.r.status, exit.r.stderr).toBe(3);
    expect(exit.files).toEqual([]);
    // A command that handles Ctrl-C itself (finish the step, save) must be able to finish the
    // file it is writing: removing it under the writer made the commit fail.
    const graceful = run("graceful");
    expect(graceful.r.status, graceful.r.stderr).toBe(0);
    expect(graceful.files).toEqual(["out.jsonl"]);
    expect(readFileSync(join(graceful.sub, "out.jsonl"), "utf8")).toBe("x\ny\n");
  });
});

describe("TextSink, before it writes", () => {
  it("removes the temporary files that a dead writer of the same output left", async () => {
    const d = fresh();
    // No process has this id (Linux caps ids far below it); the file is ten minutes old.
    const left = join(d, `.out.jsonl.tmp-${2 ** 30}-0`);
    writeFileSync(left, "half of an output");
    const past = (Date.now() - 10 * 60_000) / 1000;
    utimesSync(left, past, past);
    const sink = new TextSink(join(d, "out.jsonl"));
    await sink.write("x\n");
    await sink.commit();
    expect(readdirSync(d)).toEqual(["out.jsonl"]);
  });

  it("finishes the set that a killed writer left half renamed in its directory", async () => {
    const d = fresh();
    writeFileSync(join(d, "a.jsonl"), "new a\n"); // renamed before the writer died
    writeFileSync(join(d, "b.jsonl"), "old b\n");
    writeFileSync(join(d, ".b.jsonl.tmp-99-1"), "new b\n");
    const members = [
      { tmp: ".a.jsonl.tmp-99-0", final: "a.jsonl" },
      { tmp: ".b.jsonl.tmp-99-1", final: "b.jsonl" },
    ];
    const journal = { format: "keel-output-set", pid: 2 ** 30, what: "keel test", members };
    writeFileSync(join(d, ".keel-outputs.json"), JSON.stringify(journal));
    // Writing another file of the directory: the set is finished first, not left half old.
    const sink = new TextSink(join(d, "c.jsonl"));
    await sink.write("c\n");
    await sink.commit();
    expect(readdirSync(d).sort()).toEqual(["a.jsonl", "b.jsonl", "c.jsonl"]);
    expect(readFileSync(join(d, "b.jsonl"), "utf8")).toBe("new b\n");
  });
});

describe("TextSink, when a write to a regular file fails", () => {
  // A child process under a file-size limit (64 KiB) fails its writes the way a full disk does;
  // Node ignores the SIGXFSZ that would otherwise end it, so the write reports EFBIG.
  const run = (how: "alone" | "set") => {
    const sub = fresh();
    const child = join(ROOT, "test/io/fsize-child.ts");
    const r = spawnSync(
      "bash",
      ["-c", 'ulimit -f 64 && exec "$0" --import tsx "$@"', process.execPath, child, sub, how],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    return {
      ...(JSON.parse(r.stdout) as { error?: { code: string; message: string }; files: string[] }),
      after: readdirSync(sub),
    };
  };

  it("writeFileAtomic fails with the file named and leaves no temporary file", () => {
    const r = run("alone");
    expect(r.error).toEqual({
      code: "KEEL_E_FILE",
      message: expect.stringMatching(/big\.json: cannot write: /),
    });
    // Listed before the child exited: its exit handler would remove a file left registered.
    expect(r.files).toEqual([]);
  });

  it("renames no file of a set whose last file fails only as it is closed", () => {
    const r = run("set");
    expect(r.error).toEqual({
      code: "KEEL_E_FILE",
      message: expect.stringMatching(/b\.jsonl: cannot write: /),
    });
    // Had finish() missed the failure, a torn b.jsonl would have been renamed into place
    // beside a.jsonl as if the set were complete.
    expect(r.files).toEqual([]);
    expect(r.after).toEqual([]);
  });
});
