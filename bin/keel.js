#!/usr/bin/env node
// The keel command. The TypeScript sources are compiled to dist/ by `npm run build`, which
// `npm ci` and `npm install` run through the `prepare` script.
import { main } from "../dist/cli/main.js";

main(process.argv).then((code) => {
  process.exitCode = code;
});
