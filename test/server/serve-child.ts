// Runs the real `keel serve` command from the TypeScript sources (for the crash test).
import { main } from "../../src/cli/main.js";

main(process.argv).then((code) => {
  process.exitCode = code;
});
