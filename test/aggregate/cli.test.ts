import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "keel-aggregate-cli-"));
const at = (name: string) => join(dir, name);

function judgment(id: string, rater: string, choice: string, a = `A${id}`, b = `B${id}`) {
  return {
    comparison_id: id,
    prompt: `p${id}`,
    response_a: a,
    response_b: b,
    rater_id: rater,
    choice,
  };
}

describe("keel aggregate", () => {
  const jfile = at("judgments.jsonl");
  writeFileSync(
    jfile,
    `${[
      judgment("c1", "r1", "a"),
      judgment("c1", "r2", "a"),
      judgment("c1", "r3", "b"),
      judgment("c2", "r1", "tie"),
      judgment("c2", "r2", "tie"),
      judgment("c2", "r3", "b"),
    ]
      .map((j) => JSON.stringify(j))
      .join("\n")}\n`,
  );

  it("runs Dawid–Skene on judgments and writes the DESIGN.md layout", async () => {
    const out = at("ds.json");
    const r = await runCli([
      "aggregate",
      "--in",
      jfile,
      "--method",
      "dawid-skene",
      "--out",
      out,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      method: "dawid-skene",
      judgments: 6,
      comparisons: 2,
      raters: 3,
    });
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(Object.keys(res)).toEqual([
      "method",
      "labels",
      "probas",
      "priors",
      "errors",
      "iterations",
      "converged",
      "log_likelihood",
    ]);
    expect(res.labels.c1).toBe("a");
    expect(res.labels.c2).toBe("tie");
  });

  it("runs a pairwise method on judgments with a prior and reports per-comparison p_a", async () => {
    const r = await runCli(["aggregate", "--in", jfile, "--method", "noisy-bt", "--prior", "1"]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.comparisons.map((c: { comparison_id: string }) => c.comparison_id)).toEqual([
      "c1",
      "c2",
    ]);
    expect(res.comparisons[0].p_a).toBeGreaterThan(0.5);
  });

  it("with --out - writes the result alone to stdout and the summary to stderr", async () => {
    for (const extra of [[], ["--json"]]) {
      const r = await runCli(["aggregate", "--in", jfile, "--out", "-", ...extra]);
      expect(r.code, r.stderr).toBe(0);
      // One JSON document: the summary used to follow it on stdout, so a pipe got two.
      expect(JSON.parse(r.stdout).labels).toEqual({ c1: "a", c2: "tie" });
      expect(r.stderr).toContain("judgments");
      expect(r.stderr).toContain("dawid-skene");
    }
  });

  it("refuses a judgments file whose comparison id names two pairs of texts, with file:line", async () => {
    const conflict = at("conflict.jsonl");
    writeFileSync(
      conflict,
      `${[judgment("c1", "r1", "a"), judgment("c1", "r2", "a", "Bc1", "Ac1")]
        .map((x) => JSON.stringify(x))
        .join("\n")}\n`,
    );
    for (const command of ["aggregate", "agreement"]) {
      const r = await runCli([command, "--in", conflict]);
      expect(r.code, command).toBe(65);
      expect(r.stderr).toContain(`KEEL_E_CONFLICT: ${conflict}:2: id "c1": response_a:`);
    }
  });

  it("names the components when a pairwise graph is not connected and no prior is given", async () => {
    const r = await runCli(["aggregate", "--in", jfile, "--method", "bradley-terry"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("KEEL_E_NOT_CONNECTED");
    expect(r.stderr).toContain("2 components");
  });

  it("reads crowd-kit tables (categorical and pairwise) and rejects mismatched methods and options", async () => {
    const cat = at("labels.csv");
    writeFileSync(
      cat,
      "task,worker,label\nt1,w1,cat\nt1,w2,cat\nt1,w3,dog\nt2,w1,dog\nt2,w2,dog\nt2,w3,dog\n",
    );
    const r = await runCli([
      "aggregate",
      "--in",
      cat,
      "--format",
      "crowd-kit",
      "--method",
      "one-coin",
      "--max-iter",
      "5",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).labels).toEqual({ t1: "cat", t2: "dog" });
    const pw = at("pairs.csv");
    writeFileSync(pw, "worker,left,right,label\nw1,a,b,a\nw2,b,c,b\nw3,c,a,c\n");
    const p = await runCli(["aggregate", "--in", pw, "--format", "crowd-kit-pairwise"]);
    expect(p.code, p.stderr).toBe(0);
    const scores = Object.values(JSON.parse(p.stdout).scores) as number[];
    for (const s of scores) expect(Math.abs(s)).toBeLessThan(1e-9);
    expect(
      (
        await runCli([
          "aggregate",
          "--in",
          pw,
          "--format",
          "crowd-kit-pairwise",
          "--method",
          "glad",
        ])
      ).code,
    ).toBe(64);
    const bad = await runCli([
      "aggregate",
      "--in",
      cat,
      "--format",
      "crowd-kit",
      "--method",
      "dawid-skene",
      "--prior",
      "1",
    ]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("KEEL_E_USAGE: --prior does not apply to dawid-skene");
  });

  it("tells a flag the method does not take from a value out of range", async () => {
    const pw = at("range-pairs.csv");
    writeFileSync(pw, "worker,left,right,label\nw1,a,b,a\nw2,b,a,b\n");
    const cases = [
      [["--max-iter", "2000000"], "--max-iter: bradley-terry: maxIter: Too big"],
      // 1e308 virtual games overflowed the MM step to NaN scores (printed as null, exit 0).
      [["--prior", "1e308"], "--prior: bradley-terry: prior: Too big"],
      [["--seed", "3"], "--seed does not apply to bradley-terry"],
    ] as const;
    for (const [flags, message] of cases) {
      const r = await runCli(["aggregate", "--in", pw, "--format", "crowd-kit-pairwise", ...flags]);
      expect(r.code, flags.join(" ")).toBe(64);
      expect(r.stderr).toContain(`KEEL_E_USAGE: ${message}`);
    }
  });

  it("refuses --gold for a method that would ignore it, and names those that use it", async () => {
    const cat = at("gold-labels.csv");
    writeFileSync(cat, "task,worker,label\nt1,w1,a\nt1,w2,b\nt2,w1,a\nt2,w2,a\n");
    const gold = at("gold.csv");
    writeFileSync(gold, "task,true_label\nt1,b\n");
    for (const method of ["majority-vote", "wawa", "mace", "mmsr"]) {
      const r = await runCli([
        "aggregate",
        "--in",
        cat,
        "--format",
        "crowd-kit",
        "--method",
        method,
        "--gold",
        gold,
      ]);
      expect(r.code, method).toBe(64);
      expect(r.stderr).toContain(`KEEL_E_USAGE: --gold does not apply to ${method}`);
      expect(r.stderr).toContain("dawid-skene, one-coin, glad");
    }
    const ds = await runCli(["aggregate", "--in", cat, "--format", "crowd-kit", "--gold", gold]);
    expect(ds.code, ds.stderr).toBe(0);
    expect(JSON.parse(ds.stdout).labels.t1).toBe("b");
  });

  it("names the file and line of both sides of a gold conflict", async () => {
    const cat = at("conflict-labels.csv");
    writeFileSync(cat, "task,worker,label\nt1,w1,a\nt1,w2,b\nt2,w1,a\nt2,w2,a\n");
    const gold = at("conflict-gold.csv");
    writeFileSync(gold, "task,true_label\nt1,b\nt2,a\nt1,a\n");
    const r = await runCli(["aggregate", "--in", cat, "--format", "crowd-kit", "--gold", gold]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      `KEEL_E_CONFLICT: ${gold}:4: id "t1": two different gold labels for one task: "a" here, "b" before (${gold}:2)`,
    );
    // A judgments file's own gold against the --gold file's: each side named where it is.
    const jf = at("conflict-judgments.jsonl");
    writeFileSync(
      jf,
      `${[judgment("c1", "r1", "a"), { ...judgment("c1", "r2", "b"), gold: "a" }]
        .map((j) => JSON.stringify(j))
        .join("\n")}\n`,
    );
    const gj = at("conflict-gold.jsonl");
    writeFileSync(gj, `${JSON.stringify({ comparison_id: "c1", gold: "b" })}\n`);
    const j = await runCli(["aggregate", "--in", jf, "--gold", gj]);
    expect(j.code).toBe(65);
    expect(j.stderr).toContain(
      `KEEL_E_CONFLICT: ${gj}:1: id "c1": two different gold labels for one task: "b" here, "a" before (${jf}:2)`,
    );
  });
});

describe("keel aggregate on free-text labels", () => {
  it("names the size it refuses instead of an internal error", async () => {
    // A class per label: Dawid–Skene's 600 × 6,000² confusion cells used to be a RangeError
    // reported as KEEL_E_INTERNAL with a stack trace.
    const free = at("free-text.csv");
    const rows = Array.from({ length: 6000 }, (_, i) => `t${Math.floor(i / 3)},w${i % 600},L${i}`);
    writeFileSync(free, `task,worker,label\n${rows.join("\n")}\n`);
    const r = await runCli(["aggregate", "--in", free, "--format", "crowd-kit"]);
    expect(r.code, r.stderr).toBe(70);
    expect(r.stderr).toContain(
      "KEEL_E_UNSUPPORTED: dawid-skene would keep 600 workers × 6000² classes",
    );
    expect(r.stderr).not.toContain("KEEL_E_INTERNAL");
  });
});

describe("keel agreement", () => {
  it("prints alpha, kappa and per-rater leave-one-out agreement", async () => {
    const cat = at("agree.csv");
    writeFileSync(cat, "task,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n");
    const r = await runCli(["agreement", "--in", cat, "--format", "crowd-kit", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.raters).toBe(3);
    expect(
      res.per_rater.find((x: { rater_id: string }) => x.rater_id === "c").loo_agreement,
    ).toBeCloseTo(0.5, 12);
    expect(res.cohen_kappa).toHaveLength(3);
    const text = await runCli(["agreement", "--in", cat, "--format", "crowd-kit"]);
    expect(text.stdout).toContain("Krippendorff's alpha");
    // Pairs sharing two tasks: no kappa table by default (noise), one with --min-common 2.
    expect(text.stdout).toContain("no pair shares 10 tasks (at most 2)");
    const low = await runCli([
      "agreement",
      "--in",
      cat,
      "--format",
      "crowd-kit",
      "--min-common",
      "2",
    ]);
    expect(low.stdout).toMatch(/with ≥ 2 tasks in common \(3 of 3; 3 pairs in all/);
  });

  it("counts each rater's first label of a task once: a repeated label is no agreement with itself", async () => {
    const plain = at("once.csv");
    writeFileSync(plain, "task,worker,label\n1,a,x\n1,b,y\n2,a,y\n2,b,x\n");
    // The same panel with a repeating a's and b's labels of task 1, once each: a rater
    // "agreeing with itself" raised alpha and every leave-one-out agreement.
    const repeated = at("repeated.csv");
    writeFileSync(repeated, "task,worker,label\n1,a,x\n1,a,x\n1,b,y\n1,b,y\n2,a,y\n2,b,x\n");
    const json = async (f: string) =>
      JSON.parse(
        (await runCli(["agreement", "--in", f, "--format", "crowd-kit", "--json"])).stdout,
      );
    const once = await json(plain);
    const twice = await json(repeated);
    expect(twice.repeated_labels).toBe(2);
    expect(once.repeated_labels).toBe(0);
    expect(twice.krippendorff_alpha).toBe(once.krippendorff_alpha);
    expect(twice.fleiss_kappa).toBe(once.fleiss_kappa);
    expect(twice.per_rater).toEqual(once.per_rater);
    const text = await runCli(["agreement", "--in", repeated, "--format", "crowd-kit"]);
    expect(text.stdout).toContain("2 repeated labels of a rater on a task left out");
  });

  it("prints its tables when hundreds of raters share one task (a quarter-million pairs)", async () => {
    const many = at("many-raters.csv");
    const rows = Array.from({ length: 700 }, (_, i) => `check,r${i},${i % 3 ? "x" : "y"}`);
    writeFileSync(many, `task,worker,label\n${rows.join("\n")}\n`);
    const r = await runCli(["agreement", "--in", many, "--format", "crowd-kit", "--top", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("no pair shares 10 tasks (at most 1)");
  });

  it("prints alpha and the per-rater table but skips Cohen's pairs past a million of them", async () => {
    // 1,500 raters on one check item: 1,124,250 pairs. The pair tables used to exhaust the
    // heap (an abort after minutes at 20,000 raters); now the rest is printed.
    const many = at("crowd-raters.csv");
    const rows = Array.from({ length: 1500 }, (_, i) => `check,r${i},${i % 3 ? "x" : "y"}`);
    writeFileSync(many, `task,worker,label\n${rows.join("\n")}\nt2,r0,x\nt2,r1,x\n`);
    const text = await runCli(["agreement", "--in", many, "--format", "crowd-kit", "--top", "2"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("Krippendorff's alpha");
    expect(text.stdout).toContain("more than 1000000 pairs of raters share a task");
    const json = await runCli(["agreement", "--in", many, "--format", "crowd-kit", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const res = JSON.parse(json.stdout);
    expect(res.cohen_kappa).toBeNull();
    expect(res.per_rater).toHaveLength(1500);
  });

  it("refuses an empty input instead of printing empty results", async () => {
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "\n\n");
    const csv = join(dir, "empty.csv");
    writeFileSync(csv, "task,worker,label\n");
    for (const args of [
      ["aggregate", "--in", empty],
      ["aggregate", "--in", empty, "--method", "bradley-terry"],
      ["aggregate", "--in", csv, "--format", "crowd-kit"],
      ["agreement", "--in", empty],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(65);
      expect(r.stderr).toContain(`KEEL_E_INVALID_RECORD: ${args[2]}: no labels in the file`);
    }
  });
});

describe("keel aggregate and agreement on a store (--db)", () => {
  const jfile = at("store-judgments.jsonl");
  const rows = [
    { ...judgment("s1", "r1", "a"), gold: "a" },
    judgment("s1", "r2", "a"),
    judgment("s1", "r3", "b"),
    judgment("s2", "r1", "b"),
    judgment("s2", "r2", "b"),
    judgment("s2", "r3", "a"),
    judgment("s3", "r1", "a"),
    judgment("s3", "r3", "a"),
  ];
  writeFileSync(jfile, `${rows.map((j) => JSON.stringify(j)).join("\n")}\n`);
  const db = at("store.db");
  const gfile = at("store-gold.jsonl");
  writeFileSync(gfile, `${JSON.stringify({ comparison_id: "s2", gold: "b" })}\n`);

  it("reads the store's judgments (with their gold) as --in reads the same file", async () => {
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const imported = await runCli(["import", jfile, "--db", db]);
    expect(imported.code, imported.stderr).toBe(0);
    for (const args of [
      ["--method", "dawid-skene"],
      ["--method", "noisy-bt", "--prior", "1"],
    ]) {
      const fromStore = await runCli(["aggregate", "--db", db, ...args]);
      const fromFile = await runCli(["aggregate", "--in", jfile, ...args]);
      expect(fromStore.code, fromStore.stderr).toBe(0);
      expect(JSON.parse(fromStore.stdout)).toEqual(JSON.parse(fromFile.stdout));
    }
    const a = await runCli(["agreement", "--db", db, "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ judgments: 8, tasks: 3, raters: 3 });
    // --in wins over --db (which has a default).
    const both = await runCli(["agreement", "--in", jfile, "--db", at("absent.db"), "--json"]);
    expect(both.code, both.stderr).toBe(0);
  });

  it("refuses an --out that is the store, its journal, the labels file or the gold file", async () => {
    const before = readFileSync(db);
    for (const [args, what] of [
      [["--db", db, "--out", db], "the feedback store being read"],
      [["--db", db, "--out", `${db}-wal`], "the feedback store being read's wal file"],
      [["--in", jfile, "--out", jfile], "the labels being read"],
      [["--in", jfile, "--gold", gfile, "--out", gfile], "the gold answers"],
    ] as const) {
      const r = await runCli(["aggregate", ...args]);
      expect(r.code, args.join(" ")).toBe(64);
      expect(r.stderr).toContain(`is ${what}`);
    }
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(readFileSync(jfile, "utf8")).toContain('"comparison_id"');
    expect(readFileSync(gfile, "utf8")).toContain('"gold"');
  });

  it("refuses a crowd-kit format without a file, and an empty store", async () => {
    const ck = await runCli(["aggregate", "--db", db, "--format", "crowd-kit"]);
    expect(ck.code).toBe(64);
    expect(ck.stderr).toContain("--format crowd-kit reads a table from a file: give --in");
    const empty = at("empty-store.db");
    expect((await runCli(["init", "--db", empty])).code).toBe(0);
    for (const cmd of ["aggregate", "agreement"]) {
      const r = await runCli([cmd, "--db", empty]);
      expect(r.code, cmd).toBe(66);
      expect(r.stderr).toContain(`KEEL_E_NOT_FOUND: ${empty}: the store holds no judgments`);
    }
  });
});
