/**
 * The Ray launcher against a local server speaking Ray's job submission REST API (ray-server.ts):
 * submit, status, logs, stop, including Ray's error answers; retries of reads but not of
 * submits; and `keel launch` end to end, with the OpenRLHF entrypoint it builds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import {
  OPENRLHF_VERSION,
  ppoJob,
  RayJobClient,
  rmJob,
  shellQuote,
} from "../../src/providers/ray/index.js";
import { runCli } from "../helpers/cli.js";
import { type RayServer, startRayServer } from "./ray-server.js";

let ray: RayServer;
let client: RayJobClient;
beforeAll(async () => {
  ray = await startRayServer(3);
  client = new RayJobClient({ address: ray.url });
});
afterAll(async () => {
  await ray.close();
});

async function rejection(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("RayJobClient", () => {
  it("reads a log past the 32 MiB cap of other answers, and names one past its own cap", async () => {
    const { submissionId } = await client.submit({
      entrypoint: "python3 train.py",
      runtime_env: {},
    });
    const job = ray.jobs.get(submissionId)!;
    job.logs = `${"x".repeat(1023)}\n`.repeat(40 << 10); // 40 MiB
    // 40 MiB through one process's server and client: a loaded machine needs more than the
    // default 30 s timeout.
    const patient = new RayJobClient({ address: ray.url, timeoutMs: 300_000 });
    expect((await patient.logs(submissionId)).length).toBe(40 << 20);
    const small = new RayJobClient({ address: ray.url, maxLogBytes: 16 << 20 });
    const e = await rejection(small.logs(submissionId));
    expect(e.code).toBe("KEEL_E_TOO_LARGE");
    expect(e.message).toContain(`the logs of job ${submissionId} are over 16 MiB`);
    expect(e.hint).toContain(`ray job logs ${submissionId}`);
    job.logs = "";
  }, 300_000);

  it("submits a job, follows its status and logs to the end", async () => {
    expect((await client.version()).ray_version).toBe("2.40.0");
    const { submissionId } = await client.submit({
      entrypoint: "python3 -c 'print(1)'",
      runtime_env: {},
    });
    expect(submissionId).toMatch(/^keel-/);
    const statuses: string[] = [];
    let logs = "";
    const d = await client.follow(submissionId, {
      intervalMs: 1,
      onStatus: (s) => statuses.push(s.status),
      onLogs: (t) => {
        logs += t;
      },
    });
    expect(d.status).toBe("SUCCEEDED");
    expect(statuses).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(logs).toBe(await client.logs(submissionId));
    expect(logs.split("\n").filter(Boolean)).toHaveLength(3);
    expect(d.driver_exit_code).toBe(0);
  });

  it("stops following at the caller's abort with an interruption, between polls too", async () => {
    const { submissionId } = await client.submit({ entrypoint: "python3 -c 'print(1)'" });
    const ac = new AbortController();
    const e = await rejection(
      // The abort comes after a poll, while the next one is awaited.
      client.follow(submissionId, {
        intervalMs: 60_000,
        onStatus: () => ac.abort(),
        signal: ac.signal,
      }),
    );
    expect(e.code).toBe("KEEL_E_INTERRUPTED");
  });

  it("reports failed and stopped jobs", async () => {
    const failed = await client.submit({ entrypoint: "bash -c 'exit 1'" });
    expect((await client.follow(failed.submissionId, { intervalMs: 1 })).status).toBe("FAILED");
    const long = await client.submit({ entrypoint: "sleep 100" });
    expect((await client.status(long.submissionId)).status).toBe("RUNNING");
    expect(await client.stop(long.submissionId)).toBe(true);
    expect((await client.status(long.submissionId)).status).toBe("STOPPED");
    expect(await client.stop(long.submissionId)).toBe(false);
    expect(await client.delete(long.submissionId)).toBe(true);
  });

  it("turns Ray's error answers into catalogue errors", async () => {
    const missing = await rejection(client.status("raysubmit_nope"));
    expect(missing.code).toBe("KEEL_E_NOT_FOUND");
    expect(missing.message).toMatch(/Job raysubmit_nope does not exist/);
    const bad = await rejection(client.submit({} as never));
    expect(bad.code).toBe("KEEL_E_UPSTREAM");
    expect(bad.message).toMatch(/HTTP 400: TypeError: .*'entrypoint'/);
    await client.submit({ entrypoint: "true", submission_id: "dup" });
    const dup = await rejection(client.submit({ entrypoint: "true", submission_id: "dup" }));
    expect(dup.message).toMatch(/submission_id dup already exists/);
    const running = await client.submit({ entrypoint: "sleep 5" });
    await client.status(running.submissionId);
    expect((await rejection(client.delete(running.submissionId))).message).toMatch(
      /non-terminal state/,
    );
    const notRay = await rejection(
      new RayJobClient({ address: `${ray.url}/nothing-here`, retries: 0 }).version(),
    );
    expect(notRay.code).toBe("KEEL_E_NOT_FOUND");
  });

  it("retries reads through 503s but never resubmits a job", async () => {
    const { submissionId } = await client.submit({ entrypoint: "true" });
    ray.failNext("status", 2);
    expect((await client.status(submissionId)).status).toBe("RUNNING");
    const before = ray.requests.filter(
      (r) => r.method === "POST" && r.path === "/api/jobs/",
    ).length;
    ray.failNext("submit", 1);
    const e = await rejection(client.submit({ entrypoint: "true" }));
    expect(e.message).toMatch(/HTTP 500: RuntimeError: Request failed with status code 503/);
    const after = ray.requests.filter((r) => r.method === "POST" && r.path === "/api/jobs/").length;
    expect(after - before).toBe(1);
  });
});

describe("OpenRLHF jobs", () => {
  it("builds quoted entrypoints with the keys and URLs keel must get right", () => {
    expect(shellQuote("a b'c")).toBe(`'a b'"'"'c'`);
    expect(shellQuote("/data/x.jsonl")).toBe("/data/x.jsonl");
    // What a shell would expand, split or drop is quoted; an empty argument stays an argument.
    for (const word of ["$HOME", "`id`", "*.jsonl", "~root", "a;b", "a|b", "a&b", "x\\y", ""])
      expect(shellQuote(word), word).toBe(`'${word}'`);
    expect(() => rmJob({ pretrain: "m", savePath: "/s", dataset: "/d", extra: ["a\nb"] })).toThrow(
      /cannot contain line breaks/,
    );
    const rm = rmJob({
      pretrain: "m",
      savePath: "/ckpt/rm",
      dataset: "/data/prefs.jsonl",
      keys: { chosen: "preferred" },
      gpus: 8,
      extra: ["--max_len", "2048"],
      pipInstall: true,
    });
    expect(rm.entrypoint).toBe(
      "deepspeed --num_gpus 8 --module openrlhf.cli.train_rm --pretrain m --dataset /data/prefs.jsonl " +
        "--prompt_key prompt --chosen_key preferred --rejected_key rejected --save_path /ckpt/rm --max_len 2048",
    );
    expect(rm.runtime_env).toEqual({ pip: [`openrlhf==${OPENRLHF_VERSION}`] });
    const ppo = ppoJob({
      pretrain: "m",
      savePath: "/ckpt/ppo",
      promptData: "/data/prompts.jsonl",
      remoteRmUrl: "http://10.0.0.5:5000/get_reward",
    });
    expect(ppo.entrypoint).toContain("--remote_rm_url http://10.0.0.5:5000/get_reward");
    expect(ppo.entrypoint).toContain("--input_key prompt");
    expect(ppo.metadata).toMatchObject({ submitted_by: "keel", keel_job: "openrlhf-ppo" });
  });
});

describe("keel launch", () => {
  it("submits an OpenRLHF PPO job, streams its logs and exits 0 when it succeeds", async () => {
    const r = await runCli([
      "launch",
      "openrlhf",
      "ppo",
      "--ray-address",
      ray.url,
      "--pretrain",
      "OpenRLHF/Llama-3-8b-sft-mixture",
      "--prompt-data",
      "/data/prompts.jsonl",
      "--remote-rm-url",
      "http://10.0.0.5:5000/get_reward",
      "--save-path",
      "/ckpt/ppo",
      "--submission-id",
      "keel-cli-ppo",
      "--runtime-env-json",
      '{"env_vars":{"WANDB_MODE":"offline"}}',
      "--interval",
      "0.01",
      "--",
      "--init_kl_coef",
      "0.01",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const job = ray.jobs.get("keel-cli-ppo")!;
    expect(job.entrypoint).toMatch(/^python3 -m openrlhf\.cli\.train_ppo_ray /);
    expect(job.entrypoint).toMatch(/--save_path \/ckpt\/ppo --init_kl_coef 0\.01$/);
    expect(job.runtime_env).toEqual({ env_vars: { WANDB_MODE: "offline" } });
    expect(r.stdout).toContain("keel-cli-ppo");
    expect(r.stdout).toContain("step 3: python3");
    expect(r.stderr).toMatch(/SUCCEEDED/);
  });

  it("exits non-zero for a failed job, and has status, logs and stop", async () => {
    const failed = await runCli([
      "launch",
      "openrlhf",
      "rm",
      "--ray-address",
      ray.url,
      "--pretrain",
      "m",
      "--dataset",
      "d.jsonl",
      "--save-path",
      "/ckpt",
      "--submission-id",
      "keel-cli-rm",
      "--interval",
      "0.01",
      "--",
      "&&",
      "exit",
      "1",
    ]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/ray job keel-cli-rm FAILED/);
    // The extra words are quoted: "&&" reaches OpenRLHF as an argument, not as shell syntax.
    expect(ray.jobs.get("keel-cli-rm")!.entrypoint).toMatch(/'&&' exit 1$/);
    const detached = await runCli([
      "launch",
      "openrlhf",
      "rm",
      "--ray-address",
      ray.url,
      "--pretrain",
      "m",
      "--dataset",
      "d.jsonl",
      "--save-path",
      "/ckpt",
      "--submission-id",
      "keel-cli-bg",
      "--no-wait",
      "--json",
    ]);
    expect(JSON.parse(detached.stdout)).toEqual({ submission_id: "keel-cli-bg" });
    const status = await runCli([
      "launch",
      "status",
      "keel-cli-bg",
      "--ray-address",
      ray.url,
      "--json",
    ]);
    expect(JSON.parse(status.stdout).status).toBe("RUNNING");
    const stop = await runCli(["launch", "stop", "keel-cli-bg", "--ray-address", ray.url]);
    expect(stop.stdout).toMatch(/stop requested for keel-cli-bg/);
    const logs = await runCli(["launch", "logs", "keel-cli-bg", "--ray-address", ray.url]);
    expect(logs.code).toBe(0);
    const unknown = await runCli(["launch", "status", "nope", "--ray-address", ray.url]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/does not exist/);
    const dry = await runCli([
      "launch",
      "openrlhf",
      "rm",
      "--pretrain",
      "m",
      "--dataset",
      "d.jsonl",
      "--save-path",
      "/c",
      "--dry-run",
    ]);
    expect(JSON.parse(dry.stdout).entrypoint).toMatch(/openrlhf\.cli\.train_rm/);
  });
});
