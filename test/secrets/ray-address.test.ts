/** `keel launch` with a Ray address that is not http(s) but carries a password: not printed. */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const SECRET = "keelRaySecret3";

describe("a password in --ray-address", () => {
  it("is not in the refusal of a ray:// address", async () => {
    const r = await runCli([
      "launch",
      "status",
      "raysubmit_x",
      "--ray-address",
      `ray://admin:${SECRET}@head:10001`,
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("--ray-address must be an http(s) URL");
    expect(r.stderr).toContain("ray://admin:***@head:10001");
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});
