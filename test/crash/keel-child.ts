// The real keel command from the TypeScript sources, for the crash tests: it says "started" on
// standard error once its modules are loaded, so that a kill delay counts from there and not
// from tsx's start-up, which varies from machine to machine.
import { main } from "../../src/cli/main.js";

process.stderr.write("keel-child: started\n");
main(process.argv).then((code) => {
  process.exitCode = code;
});
