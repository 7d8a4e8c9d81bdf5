import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

const jsonl = (rows: readonly object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

describe("keel train", () => {
  const dir = tmp("cli");
  const sftRows = [
    { prompt: "pick one", completion: "A" },
    { prompt: "say yes", completion: "yes" },
    { prompt: "the sky is", completion: "blue" },
  ];
  writeFileSync(join(dir, "sft.jsonl"), jsonl(sftRows));
  const judgments = [
    {
      comparison_id: "c1",
      prompt: "say yes",
      response_a: "yes",
      response_b: "no",
      rater_id: "r1",
      choice: "a",
    },
    {
      comparison_id: "c2",
      prompt: "the sky is",
      response_a: "green",
      response_b: "blue",
      rater_id: "r1",
      choice: "b",
    },
    {
      comparison_id: "c3",
      prompt: "pick one",
      response_a: "A",
      response_b: "B",
      rater_id: "r2",
      choice: "tie",
    },
    {
      comparison_id: "c4",
      prompt: "say yes",
      response_a: "no",
      response_b: "yes",
      rater_id: "r3",
      choice: "a",
    },
  ];
  writeFileSync(join(dir, "judgments.jsonl"), jsonl(judgments));
  writeFileSync(
    join(dir, "audit.json"),
    JSON.stringify({
      comparisons: [
        { comparison_id: "c1", p_a: 0.9, weight: 1, excluded: false, reasons: [] },
        { comparison_id: "c2", p_a: 0.1, weight: 0.5, excluded: false, reasons: [] },
        { comparison_id: "c4", p_a: 0.2, weight: 0, excluded: true, reasons: ["suspect rater"] },
      ],
    }),
  );
  writeFileSync(
    join(dir, "prompts.jsonl"),
    jsonl(["pick one", "say yes", "the sky is", "hello"].map((prompt) => ({ prompt }))),
  );

  it("sft: trains from a YAML config, writes metrics.jsonl and the model", async () => {
    writeFileSync(
      join(dir, "sft.yaml"),
      [
        `out: ${join(dir, "sft")}`,
        `data: { train: ${join(dir, "sft.jsonl")}, eval: ${join(dir, "sft.jsonl")} }`,
        "model:",
        "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
        "  tokenizer: { vocab_size: 280 }",
        "train: { steps: 4, batch_size: 2 }",
        "run: { log_every: 1, checkpoint_every: 2 }",
      ].join("\n"),
    );
    const r = await runCli([
      "train",
      "sft",
      "--config",
      join(dir, "sft.yaml"),
      "--json",
      "--threads",
      "1",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe("completed");
    expect(s.steps).toBe(4);
    expect(Number.isFinite(s.metrics.eval_loss)).toBe(true);
    expect(existsSync(join(dir, "sft", "model", "config.json"))).toBe(true);
    const lines = readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(lines.map((l) => JSON.parse(l).type)).toContain("eval");
  });

  it("rm: reads keel judgments (ties dropped) with audit weights", async () => {
    writeFileSync(
      join(dir, "rm.yaml"),
      [
        `out: ${join(dir, "rm")}`,
        `data: { train: ${join(dir, "judgments.jsonl")}, weights: ${join(dir, "audit.json")} }`,
        `model: { init: ${join(dir, "sft", "model")} }`,
        "train: { epochs: 2, batch_size: 2 }",
      ].join("\n"),
    );
    const r = await runCli([
      "train",
      "rm",
      "--config",
      join(dir, "rm.yaml"),
      "--json",
      "--threads",
      "1",
    ]);
    expect(r.code, r.stderr).toBe(0);
    // The audit's cleaned preferences: c1 and c2 (c4 excluded, c3 a tie it never read) → one
    // batch of 2 × 2 epochs.
    expect(JSON.parse(r.stdout).steps).toBe(2);
    expect(existsSync(join(dir, "rm", "model", "ensemble.json"))).toBe(true);
  });

  it("the run directory records config, seeds, versions and input hashes; a resume must read the same inputs", async () => {
    const data = join(dir, "judgments-copy.jsonl");
    writeFileSync(data, jsonl(judgments));
    const yaml = join(dir, "rm-record.yaml");
    writeFileSync(
      yaml,
      [
        `out: ${join(dir, "rm-record")}`,
        `data: { train: ${data}, weights: ${join(dir, "audit.json")} }`,
        `model: { init: ${join(dir, "sft", "model")} }`,
        "seed: 5",
        "train: { epochs: 2, batch_size: 2 }",
      ].join("\n"),
    );
    const args = ["train", "rm", "--config", yaml, "--json", "--threads", "1"];
    expect((await runCli(args)).code).toBe(0);
    const run = join(dir, "rm-record");
    const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
    const m = JSON.parse(readFileSync(join(run, "manifest.json"), "utf8"));
    expect(m.seeds).toEqual({ seed: 5 });
    expect(m.keel_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.onnxruntime_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.inputs).toEqual({
      "data.train": sha(data),
      "data.weights": sha(join(dir, "audit.json")),
      "model.init/config.json": sha(join(dir, "sft", "model", "config.json")),
    });
    expect(m.stages.map((s: { stage: string }) => s.stage)).toEqual(["train"]);
    const cfg = readFileSync(join(run, "config.yaml"), "utf8");
    expect(cfg).toContain("trainer: rm");
    expect(cfg).toContain("loss: bradley_terry"); // defaults filled in
    // Run again without --resume: the trained model is not overwritten.
    const twice = await runCli(args);
    expect(twice.code).toBe(64);
    expect(twice.stdout + twice.stderr).toContain(`${run} already holds a run (model)`);
    // --check says so too, rather than calling the config valid.
    const checked = await runCli([...args, "--check"]);
    expect(checked.code).toBe(64);
    expect(checked.stderr).toContain(`${run} already holds a run (model)`);
    // A finished run has nothing to resume; one killed before its end (no summary line in
    // metrics.jsonl) resumes with the same inputs and extends the record, and with a changed
    // data file it is refused.
    expect((await runCli([...args, "--resume"])).code).toBe(64);
    const unfinish = () => {
      const metrics = join(run, "metrics.jsonl");
      const lines = readFileSync(metrics, "utf8").trimEnd().split("\n");
      writeFileSync(
        metrics,
        `${lines.filter((l) => !l.includes('"type":"summary"')).join("\n")}\n`,
      );
    };
    unfinish();
    expect((await runCli([...args, "--resume"])).code).toBe(0);
    const again = JSON.parse(readFileSync(join(run, "manifest.json"), "utf8"));
    expect(again.created_at).toBe(m.created_at);
    expect(again.stages.map((s: { stage: string }) => s.stage)).toEqual([
      "train",
      "train (resumed)",
    ]);
    writeFileSync(data, jsonl(judgments.slice(0, 3)));
    unfinish();
    const changed = await runCli([...args, "--resume"]);
    expect(changed.code).toBe(78);
    expect(changed.stdout + changed.stderr).toContain(
      "cannot resume: data.train changed since the run began",
    );
  });

  it("a reward model's directory: model info describes the ensemble; export-onnx and generate refuse it", async () => {
    const rm = join(dir, "rm", "model");
    const info = await runCli(["model", "info", "--checkpoint", rm]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain("reward-model ensemble of 1 member; scoring mean");
    expect(info.stdout).toMatch(/written by\s+keel train rm/);
    const json = JSON.parse((await runCli(["model", "info", "-c", rm, "--json"])).stdout);
    expect(json.ensemble.members).toEqual(["member-0"]);
    expect(json.members[0].kind).toBe("reward");
    expect(json.members[0].step).toBe(2);
    const exp = await runCli(["model", "export-onnx", "-c", rm, "-o", join(dir, "rm.onnx")]);
    expect(exp.code).toBe(64);
    expect(exp.stderr).toContain("is a reward-model ensemble (ensemble.json)");
    expect(exp.stderr).toContain(`--checkpoint ${join(rm, "member-0")} --heads rewards`);
    const member = await runCli([
      "model",
      "export-onnx",
      "-c",
      join(rm, "member-0"),
      "--heads",
      "rewards",
      "-o",
      join(dir, "rm.onnx"),
    ]);
    expect(member.code, member.stderr).toBe(0);
    // A reward model was trained to score, not to write.
    for (const args of [
      ["model", "generate", "-c", join(rm, "member-0"), "--prompt", "say yes"],
      [
        "generate",
        "--checkpoint",
        join(rm, "member-0"),
        "-p",
        join(dir, "prompts.jsonl"),
        "-o",
        join(dir, "c.jsonl"),
      ],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(65);
      expect(r.stderr).toContain("is a reward model (written by keel train rm), not a policy");
    }
    expect(existsSync(join(dir, "c.jsonl"))).toBe(false);
  });

  it("an ensemble.json whose members leave its directory is refused, not followed", async () => {
    const rm = join(dir, "rm", "model");
    const { RewardScorer } = await import("../../src/train/rm/ensemble.js");
    const ens = JSON.parse(readFileSync(join(rm, "ensemble.json"), "utf8"));
    for (const member of ["../model/member-0", join(rm, "member-0")]) {
      const evil = join(dir, `evil-${member.length}`);
      mkdirSync(evil, { recursive: true });
      writeFileSync(join(evil, "ensemble.json"), JSON.stringify({ ...ens, members: [member] }));
      const info = await runCli(["model", "info", "--checkpoint", evil]);
      expect(info.code, member).toBe(65);
      expect(info.stderr).toContain("must be a path inside the ensemble's directory");
      expect(info.stderr).toContain("members.0");
      expect(() => RewardScorer.load(evil, { threads: 1 })).toThrow(
        /must be a path inside the ensemble's directory/,
      );
    }
  });

  it("model score: a reward model scores pairs, judgments and responses as the library does", async () => {
    const rm = join(dir, "rm", "model");
    const { loadRewardFn } = await import("../../src/train/rm/ensemble.js");
    const fn = loadRewardFn(rm, { threads: 1 });
    const direct = await fn.reward(["say yes", "say yes", "the sky is"], ["yes", "no", "green"]);
    await fn.dispose();
    const j = await runCli([
      "model",
      "score",
      "-m",
      rm,
      "-i",
      join(dir, "judgments.jsonl"),
      "--json",
    ]);
    expect(j.code, j.stderr).toBe(0);
    const js = JSON.parse(j.stdout);
    expect(js).toMatchObject({ kind: "reward", input: "judgments", scored: 3, ties_skipped: 1 });
    expect(js.distinct_responses).toBeLessThanOrEqual(6);
    expect(js.rows.map((r: { comparison_id: string }) => r.comparison_id)).toEqual([
      "c1",
      "c2",
      "c4",
    ]);
    // c1: chosen "yes", rejected "no"; c2: chosen "blue", rejected "green".
    expect(js.rows[0].chosen).toBeCloseTo(direct[0]!, 5);
    expect(js.rows[0].rejected).toBeCloseTo(direct[1]!, 5);
    expect(js.rows[1].rejected).toBeCloseTo(direct[2]!, 5);
    const right = js.rows.filter(
      (r: { chosen: number; rejected: number }) => r.chosen > r.rejected,
    );
    expect(js.metrics.accuracy).toBeCloseTo(right.length / 3, 12);
    for (const r of js.rows)
      expect(r.p_chosen).toBeCloseTo(1 / (1 + Math.exp(r.rejected - r.chosen)), 5);
    // TRL pairs, written to a file.
    writeFileSync(
      join(dir, "pairs.jsonl"),
      jsonl([{ prompt: "say yes", chosen: "yes", rejected: "no" }]),
    );
    const out = join(dir, "scores.jsonl");
    const p = await runCli(["model", "score", "-m", rm, "-i", join(dir, "pairs.jsonl"), "-o", out]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain("scored 1 pairs");
    const row = JSON.parse(readFileSync(out, "utf8"));
    expect(row).toMatchObject({ line: 1 });
    expect(row.chosen).toBeCloseTo(direct[0]!, 5);
    // Responses.
    writeFileSync(join(dir, "answers.jsonl"), jsonl([{ prompt: "the sky is", response: "green" }]));
    const a = await runCli([
      "model",
      "score",
      "-m",
      rm,
      "-i",
      join(dir, "answers.jsonl"),
      "--json",
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).rows[0].score).toBeCloseTo(direct[2]!, 5);
    // The rows carry their raters, and each rater's agreement with the model follows from them.
    for (const rater of ["r1", "r3"]) {
      const mine = js.rows.filter((r: { rater_id: string }) => r.rater_id === rater);
      const agree = mine.filter((r: { chosen: number; rejected: number }) => r.chosen > r.rejected);
      expect(js.per_rater.find((x: { rater_id: string }) => x.rater_id === rater)).toEqual({
        rater_id: rater,
        pairs: mine.length,
        agreement: agree.length / mine.length,
      });
    }
    // The same judgments from a store give the same scores and agreements.
    const db = join(dir, "score.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    expect((await runCli(["import", join(dir, "judgments.jsonl"), "--db", db])).code).toBe(0);
    const fromStore = await runCli(["model", "score", "-m", rm, "--db", db, "--json"]);
    expect(fromStore.code, fromStore.stderr).toBe(0);
    const st = JSON.parse(fromStore.stdout);
    expect(st.per_rater).toEqual(js.per_rater);
    expect(st.metrics).toEqual(js.metrics);
    const both = await runCli([
      "model",
      "score",
      "-m",
      rm,
      "--db",
      db,
      "-i",
      join(dir, "judgments.jsonl"),
    ]);
    expect(both.code).toBe(64);
    // A bad row names its line and field; a policy is not a reward model.
    writeFileSync(
      join(dir, "bad-pairs.jsonl"),
      jsonl([
        { prompt: "x", chosen: "y", rejected: "z" },
        { prompt: "x", chosen: 3, rejected: "z" },
      ]),
    );
    const bad = await runCli(["model", "score", "-m", rm, "-i", join(dir, "bad-pairs.jsonl")]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain(`${join(dir, "bad-pairs.jsonl")}:2: chosen`);
    const policy = await runCli([
      "model",
      "score",
      "-m",
      join(dir, "sft", "model"),
      "-i",
      join(dir, "pairs.jsonl"),
    ]);
    expect(policy.code).not.toBe(0);
    expect(policy.stderr).toContain("not a reward model");
  });

  it("rm on a terminal: the progress line ends with the training and evaluation metrics, once each", async () => {
    writeFileSync(
      join(dir, "rm-tty.yaml"),
      [
        `out: ${join(dir, "rm-tty")}`,
        `data: { train: ${join(dir, "judgments.jsonl")}, eval: ${join(dir, "judgments.jsonl")} }`,
        `model: { init: ${join(dir, "sft", "model")} }`,
        "train: { epochs: 2, batch_size: 2 }",
        "run: { eval_every: 2 }",
      ].join("\n"),
    );
    const wasTty = process.stderr.isTTY;
    process.stderr.isTTY = true;
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli(["train", "rm", "--config", join(dir, "rm-tty.yaml"), "--threads", "1"]);
    } finally {
      process.stderr.isTTY = wasTty;
    }
    expect(r.code, r.stderr).toBe(0);
    const draws = r.stderr.split(/[\r\n]/).filter((l) => l.startsWith("train rm"));
    const last = draws[draws.length - 1]!;
    expect(last).toMatch(/ loss \d/);
    expect(last).toMatch(/ \| eval_accuracy \d/);
    expect(last.split("eval_accuracy").length).toBe(2);
    // The summary table: a single model has no member index to show.
    expect(r.stdout).toMatch(/^eval_accuracy\s+[\d.]+$/m);
    expect(r.stdout).not.toMatch(/^member\s/m);
  });

  it("rm on a world: evaluates on all of its eval pairs unless data.eval_count says fewer", async () => {
    const world = join(dir, "world.json");
    writeFileSync(
      world,
      JSON.stringify({
        seed: 2,
        prompts: { count: 200 },
        comparisons: { count: 20 },
        sft: { count: 5 },
        eval_pairs: { count: 230 },
      }),
    );
    const evalPairsOf = async (name: string, extra: string) => {
      writeFileSync(
        join(dir, `${name}.yaml`),
        [
          `out: ${join(dir, name)}`,
          `data: { world: ${world}${extra} }`,
          `model: { init: ${join(dir, "sft", "model")} }`,
          "train: { steps: 1, batch_size: 4 }",
        ].join("\n"),
      );
      const r = await runCli(["train", "rm", "--config", join(dir, `${name}.yaml`), "--json"]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).metrics.eval_pairs as number;
    };
    // More than the 200 PPO's eval prompts default to: pairs are cheap to score.
    expect(await evalPairsOf("rm-world-all", "")).toBe(230);
    expect(await evalPairsOf("rm-world-some", ", eval_count: 40")).toBe(40);
  });

  it("ppo: a tiny KL budget stops the run with an event and exit code 3", async () => {
    writeFileSync(
      join(dir, "ppo.yaml"),
      [
        `out: ${join(dir, "ppo")}`,
        `data: { prompts: ${join(dir, "prompts.jsonl")} }`,
        `policy: { init: ${join(dir, "sft", "model")} }`,
        `reward: { model: ${join(dir, "rm", "model")} }`,
        "rollout: { batch_size: 4, max_new_tokens: 4 }",
        "ppo: { iterations: 5, epochs: 1, minibatch_size: 2 }",
        "optim: { lr: 0.05 }",
        "safeguards: { kl_budget: { max: 0.000001 }, length: {} }",
      ].join("\n"),
    );
    const r = await runCli([
      "train",
      "ppo",
      "--config",
      join(dir, "ppo.yaml"),
      "--json",
      "--threads",
      "1",
    ]);
    expect(r.code, r.stderr).toBe(3);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe("stopped");
    expect(
      s.events.some(
        (e: { source: string; severity: string }) =>
          e.source === "kl_budget" && e.severity === "stop",
      ),
    ).toBe(true);
    const events = readFileSync(join(dir, "ppo", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((x) => x.type === "event");
    expect(events.length).toBeGreaterThan(0);
  });

  it("config errors name the file, line and field", async () => {
    writeFileSync(
      join(dir, "bad.yaml"),
      [
        `out: ${join(dir, "bad")}`,
        "data: { train: x.jsonl }",
        "model: { init: x }",
        "train:",
        "  epochz: 3",
      ].join("\n"),
    );
    const r = await runCli(["train", "sft", "--config", join(dir, "bad.yaml")]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/bad\.yaml:5: train\.epochz: .*unknown field/);
    writeFileSync(
      join(dir, "bad2.yaml"),
      [`out: ${join(dir, "bad")}`, "model: { init: x }", "loss: cdpo"].join("\n"),
    );
    const r2 = await runCli(["train", "dpo", "--config", join(dir, "bad2.yaml")]);
    expect(r2.code).toBe(78);
    expect(r2.stderr).toMatch(/label_smoothing/);
    // A safeguard's field is named from the top of the file, with its line.
    const ppo = (name: string, safeguards: string) => {
      writeFileSync(
        join(dir, `${name}.yaml`),
        [
          `out: ${join(dir, name)}`,
          `data: { prompts: ${join(dir, "prompts.jsonl")} }`,
          `policy: { init: ${join(dir, "sft", "model")} }`,
          `reward: { model: ${join(dir, "rm", "model")} }`,
          "safeguards:",
          ...safeguards.split("\n"),
        ].join("\n"),
      );
      return runCli(["train", "ppo", "--config", join(dir, `${name}.yaml`), "--check"]);
    };
    const r3 = await ppo("bad-sg", "  kl_budget:\n    max: 0");
    expect(r3.code, r3.stderr).toBe(78);
    expect(r3.stderr).toMatch(/bad-sg\.yaml:7: safeguards\.kl_budget\.max: /);
    // Gold tracking without a world (no gold scorer) is refused by --check, nothing written.
    const r4 = await ppo("gold-no-world", "  gold: { action: stop }");
    expect(r4.code, r4.stderr).toBe(78);
    expect(r4.stderr).toMatch(/gold-no-world\.yaml:6: safeguards\.gold: .*gold scorer/);
    expect(existsSync(join(dir, "gold-no-world"))).toBe(false);
  });

  it("--check: every example config is valid, loads its data and names its checkpoints; nothing is trained", async () => {
    const ckpt = tinyCheckpoint(join(dir, "upstream"));
    const files = readdirSync("examples").filter((f) => /^train-(sft|rm|cost|ppo|dpo)/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const trainer = /^train-(sft|rm|cost|ppo|dpo)/.exec(f)![1]!;
      // The examples start from each other's runs (runs/train/*/model): point them at a real
      // checkpoint made here, and at an output directory that must stay absent.
      const out = join(dir, `check-${f}`);
      const text = readFileSync(join("examples", f), "utf8")
        .replace(/runs\/train\/[\w-]+\/model/g, ckpt)
        .replace(/^out: .*$/m, `out: ${out}`);
      writeFileSync(join(dir, f), text);
      const r = await runCli(["train", trainer, "--config", join(dir, f), "--check", "--json"]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.trainer).toBe(trainer);
      expect(j.train).toBeGreaterThan(0);
      expect(j.out).toBe(out);
      const fields = j.checkpoints.map((k: { field: string }) => k.field);
      if (trainer === "ppo") expect(fields).toEqual(expect.arrayContaining(["policy.init"]));
      else if (trainer !== "sft") expect(fields).toContain("model.init");
      expect(existsSync(out)).toBe(false);
    }
    // The world examples' numbers: all 600 eval pairs, SFT's 5% held out of 4,000 rows.
    const rm = await runCli([
      "train",
      "rm",
      "--config",
      join(dir, "train-rm.yaml"),
      "--check",
      "--json",
    ]);
    expect(JSON.parse(rm.stdout)).toMatchObject({ train: 10000, eval: 600 });
    const sft = await runCli(["train", "sft", "--config", join(dir, "train-sft.yaml"), "--check"]);
    expect(sft.stdout).toContain("3800 training examples, 200 evaluation examples");
  });

  it("a missing data file or an audit file that is not JSON is a clear error, not a crash", async () => {
    const ckpt = tinyCheckpoint(join(dir, "upstream-data"));
    const nofile = join(dir, "no-such.jsonl");
    const cfg = (name: string, data: string) => {
      const file = join(dir, name);
      writeFileSync(
        file,
        [`out: ${join(dir, "never")}`, `data: ${data}`, `model: { init: ${ckpt} }`].join("\n"),
      );
      return file;
    };
    for (const trainer of ["rm", "dpo", "cost"]) {
      const r = await runCli([
        "train",
        trainer,
        "--config",
        cfg(`nofile-${trainer}.yaml`, `{ train: ${nofile} }`),
      ]);
      expect(r.code, r.stderr).toBe(66);
      expect(r.stderr).toContain(`KEEL_E_FILE: ${nofile}: cannot read`);
      expect(r.stderr).not.toContain("internal error");
    }
    writeFileSync(join(dir, "audit-bad.json"), "{ not json");
    const bad = cfg(
      "badaudit.yaml",
      `{ train: ${join(dir, "judgments.jsonl")}, weights: ${join(dir, "audit-bad.json")} }`,
    );
    const r = await runCli(["train", "rm", "--config", bad, "--check"]);
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(`${join(dir, "audit-bad.json")}: not valid JSON`);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("a new model's tokenizer file that is missing or not JSON is a clear error", async () => {
    writeFileSync(join(dir, "sft-rows.jsonl"), '{"prompt":"pick one","completion":"A"}\n');
    writeFileSync(join(dir, "tok-bad.json"), "{ nope");
    const cfg = (name: string, tok: string) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        [
          `out: ${join(dir, "tok-never")}`,
          `data: { train: ${join(dir, "sft-rows.jsonl")} }`,
          `model: { arch: { d_model: 16, layers: 1, heads: 2, context: 24 }, tokenizer: { file: ${tok} } }`,
          "train: { steps: 1 }",
        ].join("\n"),
      );
      return file;
    };
    const missing = join(dir, "no-tokenizer.json");
    const missingCfg = cfg("tok-missing", missing);
    const r = await runCli(["train", "sft", "--config", missingCfg]);
    expect(r.code, r.stderr).toBe(66);
    expect(r.stderr).toContain(
      `KEEL_E_FILE: ${missingCfg}:3: model.tokenizer.file: ${missing}: cannot read: no such file or directory`,
    );
    const bad = await runCli([
      "train",
      "sft",
      "--config",
      cfg("tok-bad", join(dir, "tok-bad.json")),
    ]);
    expect(bad.code, bad.stderr).toBe(65);
    expect(bad.stderr).toContain(`${join(dir, "tok-bad.json")}: not valid JSON`);
    expect(existsSync(join(dir, "tok-never", "model"))).toBe(false);
  });

  it("--check fails naming the field of a missing checkpoint", async () => {
    const file = join(dir, "missing.yaml");
    writeFileSync(
      file,
      [
        `out: ${join(dir, "missing-out")}`,
        `data: { train: ${join(dir, "judgments.jsonl")} }`,
        `model: { init: ${join(dir, "no-such-model")} }`,
      ].join("\n"),
    );
    const r = await runCli(["train", "rm", "--config", file, "--check"]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(
      `${file}:3: model.init: no checkpoint at ${join(dir, "no-such-model")}`,
    );
  });
});
