/**
 * Outputs renamed as one set (commitTogether): nothing is renamed when the writing fails, and a
 * journal left by a killed writer is finished by the next reader, unless its writer still runs
 * or the journal is not one keel wrote (it may only rename a temporary file onto its own name,
 * in its own directory).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { commitTogether, openInput, TextSink } from "../../src/io/files.js";
import { readJsonObject } from "../../src/io/json-read.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-output-set-");
let n = 0;
const JOURNAL = ".keel-outputs.json";

function journal(dir: string, pid: number, members: { tmp: string; final: string }[]): void {
  const body = { format: "keel-output-set", pid, what: "keel world generate", members };
  writeFileSync(join(dir, JOURNAL), JSON.stringify(body));
}

async function readAll(path: string): Promise<string> {
  let text = "";
  for await (const c of await openInput(path)) text += c.toString();
  return text;
}

async function fails(p: Promise<unknown>): Promise<KeelError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KeelError);
  return e as KeelError;
}

describe("commitTogether", () => {
  it("renames every file once all are written, and none when the writing fails", async () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    for (const f of ["a", "b"]) writeFileSync(join(dir, f), "old\n");
    await expect(
      commitTogether("test", async () => {
        const a = new TextSink(join(dir, "a"));
        await a.write("new\n");
        await a.commit();
        expect(readFileSync(join(dir, "a"), "utf8")).toBe("old\n"); // waits for the set
        throw new Error("the second file failed");
      }),
    ).rejects.toThrow("the second file failed");
    expect(readdirSync(dir).sort()).toEqual(["a", "b"]);
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("old\n");

    await commitTogether("test", async () => {
      for (const f of ["a", "b"]) {
        const s = new TextSink(join(dir, f));
        await s.write(`new ${f}\n`);
        await s.commit();
      }
    });
    expect(readdirSync(dir).sort()).toEqual(["a", "b"]);
    expect(readFileSync(join(dir, "b"), "utf8")).toBe("new b\n");
  });

  it("removes the set's temporary files when its journal cannot be written", async () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    for (const f of ["a", "b"]) writeFileSync(join(dir, f), "old\n");
    // A directory where the journal goes: renaming the journal's temporary file onto it fails.
    mkdirSync(join(dir, JOURNAL, "full"), { recursive: true });
    const e = await fails(
      commitTogether("test", async () => {
        for (const f of ["a", "b"]) {
          const s = new TextSink(join(dir, f));
          await s.write(`new ${f}\n`);
          await s.commit();
        }
      }),
    );
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.where?.file).toBe(join(dir, JOURNAL));
    expect(readdirSync(dir).sort()).toEqual([JOURNAL, "a", "b"]);
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("old\n");
  });
});

describe("a journal left in the directory", () => {
  const setUp = () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.jsonl"), "new a\n");
    writeFileSync(join(dir, "b.jsonl"), "old b\n");
    writeFileSync(join(dir, ".b.jsonl.tmp-99-1"), "new b\n");
    writeFileSync(join(dir, "other.jsonl"), "other\n");
    const members = [
      { tmp: ".a.jsonl.tmp-99-0", final: "a.jsonl" },
      { tmp: ".b.jsonl.tmp-99-1", final: "b.jsonl" },
    ];
    return { dir, members };
  };

  it("is finished by a reader of one of its files when its writer is gone", async () => {
    const { dir, members } = setUp();
    journal(dir, 2 ** 30, members); // no such process
    expect(await readAll(join(dir, "a.jsonl"))).toBe("new a\n");
    expect(readFileSync(join(dir, "b.jsonl"), "utf8")).toBe("new b\n");
    expect(existsSync(join(dir, JOURNAL))).toBe(false);
  });

  it("is finished by the streaming JSON reader too (truth.json, an audit)", async () => {
    const { dir, members } = setUp();
    writeFileSync(join(dir, ".b.jsonl.tmp-99-1"), '{"new": "b"}');
    journal(dir, 2 ** 30, members);
    // Before, readJsonObject opened the file itself and read the old one beside a new a.jsonl.
    expect((await readJsonObject(join(dir, "b.jsonl"))).members).toEqual({ new: "b" });
    expect(existsSync(join(dir, JOURNAL))).toBe(false);
  });

  it("is left alone by a reader of another file", async () => {
    const { dir, members } = setUp();
    journal(dir, 2 ** 30, members);
    expect(await readAll(join(dir, "other.jsonl"))).toBe("other\n");
    expect(readFileSync(join(dir, "b.jsonl"), "utf8")).toBe("old b\n");
  });

  it("whose writer still runs makes a reader fail, naming the file and the command", async () => {
    const { dir, members } = setUp();
    journal(dir, process.ppid, members);
    const e = await fails(openInput(join(dir, "b.jsonl")));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.message).toContain(
      `being replaced, with the other files of its set, by keel world generate (process ${process.ppid})`,
    );
    expect(e.where?.file).toBe(join(dir, "b.jsonl"));
    expect(readFileSync(join(dir, "b.jsonl"), "utf8")).toBe("old b\n");
  });

  it("older than a minute is finished even though its process id names a live process", async () => {
    // Renaming a set takes milliseconds: a process by that id a minute on is another one.
    const { dir, members } = setUp();
    journal(dir, process.ppid, members);
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(dir, JOURNAL), past, past);
    expect(await readAll(join(dir, "b.jsonl"))).toBe("new b\n");
    expect(existsSync(join(dir, JOURNAL))).toBe(false);
  });

  it("that names a file outside its directory, or not a temporary file, is refused", async () => {
    for (const bad of [
      { tmp: "../.x.tmp-1-1", final: "b.jsonl" },
      { tmp: ".b.jsonl.tmp-1-1", final: "../b.jsonl" },
      { tmp: "other.jsonl", final: "b.jsonl" },
      // Each begins as the rule wants, but holds a path separator: a file in another directory.
      { tmp: ".../b.jsonl.tmp-1-1", final: "../b.jsonl" },
      { tmp: ".sub\\b.jsonl.tmp-1-1", final: "sub\\b.jsonl" },
    ]) {
      const { dir } = setUp();
      journal(dir, 2 ** 30, [bad]);
      const e = await fails(openInput(join(dir, "b.jsonl")));
      expect(e.message).toContain("is not a journal of keel's output files");
      expect(e.where?.file).toBe(join(dir, JOURNAL));
      expect(readFileSync(join(dir, "other.jsonl"), "utf8")).toBe("other\n");
    }
  });

  it("that names no file at all is refused by a writer into its directory, not a TypeError", () => {
    const { dir } = setUp();
    journal(dir, 2 ** 30, []);
    let e: unknown;
    try {
      new TextSink(join(dir, "c.jsonl"));
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(KeelError);
    expect((e as KeelError).message).toContain("is not a journal of keel's output files");
    expect((e as KeelError).where?.file).toBe(join(dir, JOURNAL));
    expect(readdirSync(dir)).not.toContain("c.jsonl");
  });
});
