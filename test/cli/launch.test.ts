/**
 * `keel launch` at its edges: a malformed --header is a usage error at once (not four retries
 * reported as an upstream failure), and the text Ray sends back is escaped before it reaches
 * the terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type RayServer, startRayServer } from "../providers/ray-server.js";

let ray: RayServer;
beforeAll(async () => {
  ray = await startRayServer(5);
});
afterAll(async () => {
  await ray.close();
});

/** Submits an OpenRLHF reward-model job to the fake Ray server without waiting for it. */
async function submit(id: string): Promise<void> {
  const sub = await runCli([
    ...["launch", "openrlhf", "rm", "--ray-address", ray.url, "--pretrain", "m"],
    ...["--dataset", "d.jsonl", "--save-path", "/c", "--submission-id", id, "--no-wait"],
  ]);
  expect(sub.code, sub.stderr).toBe(0);
}

describe("keel launch --interval", () => {
  it("refuses a poll interval under 10 ms, which would hammer the Ray dashboard", async () => {
    // …and one past a day: Node fires a timer over 2^31 − 1 ms at once, a 1 ms loop.
    for (const v of ["1e-9", "0.001", "0", "86401", "3e6"]) {
      const r = await runCli(["launch", "logs", "j", "--follow", "--interval", v]);
      expect(r.code, v).toBe(64);
      expect(r.stderr).toContain("--interval must be a number of seconds from 0.01 to 86400");
    }
  });
});

describe("keel launch --header", () => {
  it("refuses a header name or value that HTTP cannot carry, before any request", async () => {
    for (const header of [
      "X A: b",
      "X B: sk-live-abcdef123",
      "X-A: b\nc",
      "X-A: b\rInjected: 1",
      "X-\u00e9: b",
      ": b",
      "X-A: \u20ac",
    ]) {
      const before = ray.requests.length;
      const r = await runCli([
        "launch",
        "status",
        "j",
        "--ray-address",
        ray.url,
        "--header",
        header,
      ]);
      expect(r.code, header).toBe(64);
      expect(r.stderr).toContain("--header");
      // The value (often a token) is not quoted back.
      expect(r.stderr).not.toContain("sk-live-abcdef123");
      expect(r.stderr).not.toContain("KEEL_E_UPSTREAM");
      expect(ray.requests.length).toBe(before);
    }
  });
});

describe("keel launch status", () => {
  it("escapes the control characters of Ray's job message", async () => {
    await submit("esc");
    const job = ray.jobs.get("esc")!;
    job.status = "RUNNING";
    job.message = "done\u001b[2J\u009b31m\u202e fake";
    const r = await runCli(["launch", "status", "esc", "--ray-address", ray.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u001b\u009b\u202e]/);
    expect(r.stdout).toContain("\\u202e");
    const logs = await runCli([
      "launch",
      "logs",
      "esc",
      "--follow",
      "--interval",
      "0.01",
      "--ray-address",
      ray.url,
    ]);
    expect(logs.stderr).not.toMatch(/[\u001b\u009b\u202e]/);
  });
});

describe("keel launch logs --json", () => {
  it("prints one JSON object with the logs (after the end with --follow), not raw text", async () => {
    await submit("logs-json");
    const now = await runCli(["launch", "logs", "logs-json", "--json", "--ray-address", ray.url]);
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toMatchObject({
      submission_id: "logs-json",
      logs: expect.any(String),
    });
    const followed = await runCli([
      "launch",
      "logs",
      "logs-json",
      "--follow",
      "--interval",
      "0.01",
      "--json",
      "--ray-address",
      ray.url,
    ]);
    expect(followed.code, followed.stderr).toBe(0);
    const out = JSON.parse(followed.stdout);
    expect(out).toMatchObject({ submission_id: "logs-json", status: "SUCCEEDED" });
    expect(out.logs).toContain("step 5: deepspeed");
  });
});
