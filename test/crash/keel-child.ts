// The real keel command from the TypeScript sources, for the crash tests: it says "started" on
// standard error once its modules are loaded, so that a kill delay counts from there and not
// from tsx's start-up, which varies from machine to machine.
//
// KEEL_CRASH_AFTER_RENAME=N:REGEXP kills the process (SIGKILL, nothing of keel runs after it)
// right after its N-th rename onto a path REGEXP matches: between two renames of a set of outputs,
// a moment too short for a timed kill to hit. KEEL_CRASH_SIGNAL=SIGTERM sends that signal
// instead (what keel's own handlers make of it then).
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { main } from "../../src/cli/main.js";

const crashAt = process.env.KEEL_CRASH_AFTER_RENAME;
if (crashAt !== undefined) {
  const count = Number(crashAt.slice(0, crashAt.indexOf(":")));
  const onto = new RegExp(crashAt.slice(crashAt.indexOf(":") + 1));
  let seen = 0;
  const after = (to: fs.PathLike) => {
    if (onto.test(String(to)) && ++seen === count)
      process.kill(process.pid, (process.env.KEEL_CRASH_SIGNAL ?? "SIGKILL") as NodeJS.Signals);
  };
  const renameSync = fs.renameSync;
  fs.renameSync = (from, to) => {
    renameSync(from, to);
    after(to);
  };
  const rename = fs.promises.rename;
  fs.promises.rename = async (from, to) => {
    await rename(from, to);
    after(to);
  };
  syncBuiltinESMExports();
}

process.stderr.write("keel-child: started\n");
main(process.argv).then((code) => {
  process.exitCode = code;
});
