/**
 * A child for output-safety.test.ts: opens a TextSink in argv[2], writes a line, then ends the
 * way argv[3] says — "signal" (an unhandled SIGINT), "exit" (process.exit with the sink open)
 * or "graceful" (a SIGINT that a handler takes, after which the sink commits).
 */
import { join } from "node:path";
import { TextSink } from "../../src/io/files.js";

const [dir, how] = process.argv.slice(2) as [string, string];
const sink = new TextSink(join(dir, "out.jsonl"));
await sink.write("x\n");
if (how === "signal") {
  process.kill(process.pid, "SIGINT");
  await new Promise((r) => setTimeout(r, 10_000)); // the signal ends the process first
} else if (how === "exit") {
  process.exit(3);
} else {
  const graceful = () => undefined;
  process.on("SIGINT", graceful);
  process.kill(process.pid, "SIGINT");
  await new Promise((r) => setTimeout(r, 50));
  await sink.write("y\n");
  await sink.commit();
  process.off("SIGINT", graceful);
}
