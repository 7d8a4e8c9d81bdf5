/** Every serving command takes a TCP port from 0 to 65535 and names --port otherwise. */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("--port", () => {
  for (const command of ["serve", "serve-model", "serve-rm"]) {
    it(`${command} refuses a port past 65535 before it loads anything`, async () => {
      const r = await runCli([command, "--port", "70000"]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain('--port must be at most 65535, got "70000"');
    });
  }
});
