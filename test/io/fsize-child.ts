/**
 * A child for output-safety.test.ts, run under a file-size limit (`ulimit -f 64`: 64 KiB) so that
 * a write to a regular file fails as on a full disk. It writes in argv[2] the way argv[3] says,
 * then prints what it saw as JSON before exiting (at exit, any temporary file still registered
 * is removed, which would hide one that a failure left behind):
 * - "alone": writeFileAtomic of 70,000 characters, which fails inside write();
 * - "set": two files in commitTogether, the second failing only as it is closed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "../../src/core/errors.js";
import { commitTogether, TextSink, writeFileAtomic } from "../../src/io/files.js";

const LIMIT = 64 * 1024;
const [dir, how] = process.argv.slice(2) as [string, string];

async function run(): Promise<void> {
  if (how === "alone") {
    await writeFileAtomic(join(dir, "big.json"), "x".repeat(70_000));
    return;
  }
  await commitTogether("test", async () => {
    const a = new TextSink(join(dir, "a.jsonl"));
    await a.write("a\n");
    await a.commit();
    const b = new TextSink(join(dir, "b.jsonl"));
    // Exactly the limit, written out by write() itself; then a short last chunk, which the
    // stream accepts at once and only fails to write after the sink has moved on to closing.
    await b.write("y".repeat(LIMIT));
    await b.write("z\n");
    await b.commit();
  });
}

let error: { code: string; message: string } | undefined;
try {
  await run();
} catch (e) {
  error =
    e instanceof KeelError ? { code: e.code, message: e.message } : { code: "?", message: `${e}` };
}
process.stdout.write(JSON.stringify({ error, files: readdirSync(dir).sort() }));
