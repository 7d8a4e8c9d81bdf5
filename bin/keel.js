#!/usr/bin/env node
// The keel command. The TypeScript sources are compiled to dist/ by `npm run build`, which
// `npm ci` and `npm install` run through the `prepare` script.
import { main } from "../dist/cli/main.js";

// A reader that stops early (`keel stats | head`) closes the pipe: stop quietly, as other
// command-line tools do, instead of dying on an unhandled EPIPE. An unfinished write
// transaction is rolled back by the database, so nothing is half-written.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
// Progress and errors go to stderr; with `2>&1 | head` it is that closed pipe too. What could
// not be shown is dropped, and the command ends with its own exit code instead of a crash.
process.stderr.on("error", (e) => {
  if (e.code !== "EPIPE") throw e;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
