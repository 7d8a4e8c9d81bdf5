import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { exportFormat } from "../../src/io/exporters.js";
import {
  parsePairwiseJudgmentBatches,
  readCategoricalLabels,
  readPairwiseLabels,
} from "../../src/io/formats/crowdkit.js";
import { readGold } from "../../src/io/formats/gold.js";
import { splitHhTranscripts } from "../../src/io/formats/hh.js";
import { readJudgments } from "../../src/io/formats/judgments.js";
import { parseTrlBatches, trlRowToJudgment } from "../../src/io/formats/trl.js";
import { detectFormat, importFormat } from "../../src/io/registry.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();
let n = 0;
function file(content: string, ext = "jsonl"): string {
  const p = join(dir, `f${n++}.${ext}`);
  writeFileSync(p, content);
  return p;
}
const jsonl = (...rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

async function parsedAll(key: string, path: string, opts = {}) {
  const f = importFormat(key);
  const out: unknown[] = [];
  for await (const b of f.parse(path, opts) as AsyncIterable<
    { ok: boolean; record?: unknown; error?: Error; line: number }[]
  >) {
    for (const p of b) out.push(p.ok ? p.record : `${p.line}: ${p.error!.message}`);
  }
  return out;
}

const j1: Judgment = {
  comparison_id: "c1",
  prompt: "p",
  response_a: "a",
  response_b: "b",
  rater_id: "r",
  choice: "a",
};

describe("judgments JSONL", () => {
  it("reads records and reports the first bad line with file:line: field", async () => {
    const p = file(`${JSON.stringify(j1)}\n\n${JSON.stringify({ ...j1, choice: "x" })}\n`);
    await expect(collect(readJudgments(p))).rejects.toThrow(`${p}:3: choice: `);
    const bad = file(`${JSON.stringify(j1)}\n{"comparison_id": \n`);
    await expect(collect(readJudgments(bad))).rejects.toThrow(`${bad}:2: invalid JSON`);
  });

  it("exports every field a judgment has, in DESIGN.md's key order", async () => {
    const out = join(dir, "judgments-out.jsonl");
    const ex = exportFormat("judgments").open(out, {});
    const full: Judgment = {
      ...j1,
      gold: "b",
      created_at: "2026-01-01T00:00:00.000Z",
      latency_ms: 1200,
      shown_order: "ba",
      rationale: "b is right",
      flags: ["unsure"],
    };
    await ex.write(full);
    await ex.write(j1);
    await ex.commit();
    expect(readFileSync(out, "utf8")).toBe(
      '{"comparison_id":"c1","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a","gold":"b","created_at":"2026-01-01T00:00:00.000Z","latency_ms":1200,"shown_order":"ba","rationale":"b is right","flags":["unsure"]}\n' +
        '{"comparison_id":"c1","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a"}\n',
    );
  });
});

describe("TRL", () => {
  it("imports standard, conversational and implicit-prompt rows as judgments (A = chosen)", async () => {
    const conv = [{ role: "user", content: "q" }];
    const p = file(
      jsonl(
        { prompt: "q", chosen: "good", rejected: "bad" },
        {
          prompt: conv,
          chosen: [{ role: "assistant", content: "good" }],
          rejected: [{ role: "assistant", content: "bad" }],
        },
        {
          chosen: [...conv, { role: "assistant", content: "good" }],
          rejected: [...conv, { role: "assistant", content: "bad" }],
        },
        { chosen: "x", rejected: "y" },
      ),
    );
    const got = await parsedAll("trl", p, { raterId: "team" });
    expect(got[0]).toMatchObject({
      prompt: "q",
      response_a: "good",
      response_b: "bad",
      choice: "a",
      rater_id: "team",
    });
    expect((got[0] as Judgment).comparison_id).toMatch(/^trl:[0-9a-f]{32}$/);
    expect(got[1]).toMatchObject({
      prompt: conv,
      response_a: [{ role: "assistant", content: "good" }],
    });
    expect(got[2]).toEqual({ ...(got[1] as object) });
    expect(got[3]).toMatch(
      /^4: .*prompt: is required \(rows without a prompt must be conversations/,
    );
  });

  it("takes an implicit prompt from the shared opening turns, leaving each response a turn", () => {
    const u = (content: string) => ({ role: "user", content });
    const a = (content: string) => ({ role: "assistant", content });
    // chosen is all of rejected's opening: the prompt stops before chosen's last turn.
    expect(
      trlRowToJudgment(
        { chosen: [u("q"), a("x")], rejected: [u("q"), a("x"), u("more?"), a("y")] },
        {},
        {},
      ),
    ).toMatchObject({
      prompt: [u("q")],
      response_a: [a("x")],
      response_b: [a("x"), u("more?"), a("y")],
    });
    // Conversations that differ from the first turn share no prompt, though later turns agree.
    expect(() =>
      trlRowToJudgment(
        { chosen: [u("q1"), a("x"), u("z")], rejected: [u("q2"), a("x"), u("w")] },
        { line: 2 },
        {},
      ),
    ).toThrow("line 2: prompt: chosen and rejected share no opening turns");
    // A plain-text response beside a conversation is no conversation pair either.
    expect(() =>
      trlRowToJudgment({ chosen: "x", rejected: [u("q"), a("y")] }, { line: 3 }, {}),
    ).toThrow(/^line 3: prompt: is required \(rows without a prompt must be conversations/);
  });

  it("reports the weight and margin columns it read and does not store, row by row", async () => {
    const p = file(
      jsonl(
        { prompt: "q", chosen: "a", rejected: "b", weight: 0.5 },
        { prompt: "q", chosen: "c", rejected: "d" },
        { prompt: "q", chosen: "e", rejected: "f", margin: 1, weight: 2 },
      ),
    );
    const rows = (await collect(parseTrlBatches(p))).flat();
    expect(rows.map((r) => (r.ok ? (r.ignored ?? []) : "error"))).toEqual([
      ["weight"],
      [],
      ["weight", "margin"],
    ]);
  });

  it("exports ties skipped and weights/margins attached", async () => {
    const out = join(dir, "trl-out.jsonl");
    const ex = exportFormat("trl").open(out, {
      pairExtras: (j) => (j.comparison_id === "c1" ? { weight: 0.5, margin: 2 } : undefined),
    });
    await ex.write(j1);
    await ex.write({ ...j1, comparison_id: "c2", choice: "b" });
    await ex.write({ ...j1, comparison_id: "c3", choice: "tie" });
    await ex.commit();
    expect(
      readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { prompt: "p", chosen: "a", rejected: "b", weight: 0.5, margin: 2 },
      { prompt: "p", chosen: "b", rejected: "a" },
    ]);
    expect([ex.written, ex.skipped]).toEqual([2, 1]);
  });
});

describe("HH-RLHF", () => {
  it("splits the shared prompt at the last Assistant turn", () => {
    const prompt = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant:";
    expect(splitHhTranscripts(`${prompt} 4`, `${prompt} 5`, {})).toEqual([prompt, "4", "5"]);
    expect(() => splitHhTranscripts("no turns", "x", { file: "h.jsonl", line: 3 })).toThrow(
      'h.jsonl:3: chosen: has no "Assistant:" turn',
    );
    expect(() =>
      splitHhTranscripts(`${prompt} 4`, "\n\nHuman: other\n\nAssistant: 5", { line: 1 }),
    ).toThrow(/rejected: does not share/);
    // A difference in the very first character is a different conversation too.
    expect(() => splitHhTranscripts(`${prompt} 4`, `X${prompt.slice(1)} 5`, {})).toThrow(
      /rejected: does not share/,
    );
  });

  it("keeps an answer whole that writes turns of its own, whichever transcript holds it", () => {
    const prompt = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant:";
    const rambling = " 4\n\nHuman: thanks\n\nAssistant: you're welcome";
    // Cutting at the chosen transcript's own last Assistant turn split inside its answer.
    expect(splitHhTranscripts(`${prompt}${rambling}`, `${prompt} 5`, {})).toEqual([
      prompt,
      rambling.slice(1),
      "5",
    ]);
    expect(splitHhTranscripts(`${prompt} 5`, `${prompt}${rambling}`, {})).toEqual([
      prompt,
      "5",
      rambling.slice(1),
    ]);
    // Answers that start alike up to part of an Assistant turn: that turn is not shared.
    expect(
      splitHhTranscripts(`${prompt} ok\n\nAssistant: more`, `${prompt} ok\n\nAssist no`, {}),
    ).toEqual([prompt, "ok\n\nAssistant: more", "ok\n\nAssist no"]);
    // Answers that start alike, an empty answer, and a "\n\nHuman:" inside an answer.
    expect(splitHhTranscripts(`${prompt} 4, I think`, `${prompt} 4`, {})).toEqual([
      prompt,
      "4, I think",
      "4",
    ]);
    expect(splitHhTranscripts(prompt, `${prompt} 5\n\nHuman: ok`, {})).toEqual([
      prompt,
      "",
      "5\n\nHuman: ok",
    ]);
  });
});

describe("OpenRLHF export", () => {
  it("uses the configured key names and refuses clashing ones", async () => {
    const out = join(dir, "orl.jsonl");
    const ex = exportFormat("openrlhf").open(out, {
      openrlhfKeys: { prompt: "input", chosen: "pos", rejected: "neg" },
    });
    await ex.write({ ...j1, choice: "b" });
    await ex.commit();
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({ input: "p", pos: "b", neg: "a" });
    // A pair's margin goes under the margin key (OpenRLHF reads it with --margin_loss).
    const withMargin = join(dir, "orl-margin.jsonl");
    const ex2 = exportFormat("openrlhf").open(withMargin, {
      openrlhfKeys: { margin: "gap" },
      pairExtras: (j) => (j.comparison_id === "c1" ? { margin: 2 } : undefined),
    });
    await ex2.write(j1);
    await ex2.write({ ...j1, comparison_id: "c2" });
    await ex2.commit();
    expect(
      readFileSync(withMargin, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { prompt: "p", chosen: "a", rejected: "b", gap: 2 },
      { prompt: "p", chosen: "a", rejected: "b" },
    ]);
    expect(() =>
      exportFormat("openrlhf").open(join(dir, "x.jsonl"), { openrlhfKeys: { chosen: "prompt" } }),
    ).toThrow(/distinct/);
  });
});

describe("crowd-kit tables", () => {
  it("reads CSV with quoting, a pandas index column and the performer alias", async () => {
    const p = file(',task,performer,label\n0,"t,1",w1,a\n1,t2,"w ""2""",b\n', "csv");
    expect((await collect(readCategoricalLabels(p))).map((r) => r.record)).toEqual([
      { task: "t,1", worker: "w1", label: "a" },
      { task: "t2", worker: 'w "2"', label: "b" },
    ]);
  });

  it("rejects unknown and missing columns, and bad rows with their line", async () => {
    await expect(
      collect(readCategoricalLabels(file("task,worker,label,extra\n", "csv"))),
    ).rejects.toThrow(/:1: unknown column "extra"/);
    await expect(collect(readCategoricalLabels(file("task,label\nt,a\n", "csv")))).rejects.toThrow(
      /:1: missing column "worker"/,
    );
    await expect(
      collect(readCategoricalLabels(file("task,worker,label\nt,w,a\nt,w\n", "csv"))),
    ).rejects.toThrow(/:3: expected 3 columns, found 2/);
    await expect(
      collect(readCategoricalLabels(file('task,worker,label\nt,w,a\n"t,w,a\n', "csv"))),
    ).rejects.toThrow(/malformed CSV/);
  });

  it("reads JSONL tables with numeric cells; pairwise labels must name left or right", async () => {
    const p = file(jsonl({ worker: 7, left: 1, right: 2, label: 2 }));
    expect((await collect(readPairwiseLabels(p))).map((r) => r.record)).toEqual([
      { worker: "7", left: "1", right: "2", label: "2" },
    ]);
    const bad = file(jsonl({ worker: "w", left: "x", right: "y", label: "q" }));
    await expect(collect(readPairwiseLabels(bad))).rejects.toThrow(
      /:1: label: must equal left or right/,
    );
  });

  it("refuses a JSONL row that names its worker twice (worker and performer)", async () => {
    const p = file(jsonl({ task: "t", worker: "w1", performer: "w2", label: "a" }));
    await expect(collect(readCategoricalLabels(p))).rejects.toThrow(
      /:1: worker: both "worker" and "performer" are given/,
    );
    const q = file(jsonl({ performer: "w2", worker: "w1", left: "x", right: "y", label: "x" }));
    await expect(collect(readPairwiseLabels(q))).rejects.toThrow(/:1: worker: both/);
    const alias = file(jsonl({ task: "t", performer: "w2", label: "a" }));
    expect((await collect(readCategoricalLabels(alias))).map((r) => r.record)).toEqual([
      { task: "t", worker: "w2", label: "a" },
    ]);
  });

  it("turns pairwise rows into one comparison per unordered pair, keeping the on-screen order", async () => {
    const p = file("worker,left,right,label\nw1,x,y,x\nw2,y,x,x\n", "csv");
    const got = (await collect(parsePairwiseJudgmentBatches(p)))
      .flat()
      .map((x) => (x.ok ? x.record : undefined));
    expect(got[0]!.comparison_id).toBe(got[1]!.comparison_id);
    expect(got[0]).toMatchObject({
      response_a: "x",
      response_b: "y",
      choice: "a",
      shown_order: "ab",
    });
    expect(got[1]).toMatchObject({
      response_a: "x",
      response_b: "y",
      choice: "a",
      shown_order: "ba",
    });
  });

  it("categorical labels for the store must be a/b/tie", async () => {
    const got = await parsedAll("crowd-kit", file("task,worker,label\nc1,w,b\nc2,w,yes\n", "csv"));
    expect(got[0]).toEqual({ comparison_id: "c1", rater_id: "w", choice: "b" });
    expect(got[1]).toMatch(/^3: .*label: label "yes" is not a comparison choice/);
  });

  it("exports categorical and pairwise tables", async () => {
    const out = join(dir, "ck.csv");
    const ex = exportFormat("crowd-kit").open(out, {});
    await ex.write({ ...j1, comparison_id: "c,1" });
    await ex.commit();
    expect(readFileSync(out, "utf8")).toBe('task,worker,label\n"c,1",r,a\n');
    const pw = join(dir, "pw.csv");
    const ex2 = exportFormat("crowd-kit-pairwise").open(pw, {});
    await ex2.write({ ...j1, choice: "b", shown_order: "ba" });
    await ex2.write({ ...j1, choice: "tie" });
    await ex2.commit();
    const [header, row] = readFileSync(pw, "utf8").trim().split("\n");
    expect(header).toBe("worker,left,right,label");
    const [w, left, right, label] = row!.split(",");
    expect(w).toBe("r");
    expect(label).toBe(left); // B was shown on the left and preferred
    expect(right).toMatch(/^r_[0-9a-f]{16}$/);
    expect(ex2.skipped).toBe(1);
  });
});

describe("gold files", () => {
  it("reads JSONL and crowd-kit CSV with true_label", async () => {
    expect(
      (await collect(readGold(file(jsonl({ comparison_id: "c", gold: "tie" }))))).map(
        (r) => r.record,
      ),
    ).toEqual([{ comparison_id: "c", gold: "tie" }]);
    expect(
      (await collect(readGold(file("task,true_label\nc,b\n", "csv")))).map((r) => r.record),
    ).toEqual([{ comparison_id: "c", gold: "b" }]);
  });

  it("reads crowd-kit's gold keys in JSONL too, as detection and the docs promise", async () => {
    const p = file(jsonl({ task: "c", true_label: "b" }, { task: "7", label: "tie" }));
    expect(await detectFormat(p)).toBe("gold");
    expect((await collect(readGold(p))).map((r) => r.record)).toEqual([
      { comparison_id: "c", gold: "b" },
      { comparison_id: "7", gold: "tie" },
    ]);
    // Two keys for one field: neither value may be dropped unseen.
    const both = file(jsonl({ comparison_id: "c", task: "d", gold: "a" }));
    await expect(collect(readGold(both))).rejects.toThrow(
      /:1: comparison_id: both "comparison_id" and "task" are given/,
    );
  });
});

describe("format detection", () => {
  it.each([
    ["judgments", jsonl(j1), "jsonl"],
    ["trl", jsonl({ prompt: "p", chosen: "a", rejected: "b" }), "jsonl"],
    [
      "hh-rlhf",
      jsonl({ chosen: "\n\nHuman: x\n\nAssistant: y", rejected: "\n\nHuman: x\n\nAssistant: z" }),
      "jsonl",
    ],
    [
      "trl",
      jsonl({
        chosen: [{ role: "user", content: "x" }],
        rejected: [{ role: "user", content: "y" }],
      }),
      "jsonl",
    ],
    ["crowd-kit", "task,worker,label\n", "csv"],
    ["crowd-kit-pairwise", "worker,left,right,label\n", "csv"],
    ["crowd-kit", jsonl({ task: "t", worker: "w", label: "a" }), "jsonl"],
    ["raters", jsonl({ rater_id: "r", attributes: {} }), "jsonl"],
    ["gold", jsonl({ comparison_id: "c", gold: "a" }), "jsonl"],
    ["gold", "task,true_label\n", "csv"],
  ])("detects %s", async (expected, content, ext) => {
    expect(await detectFormat(file(content, ext))).toBe(expected);
  });

  it("says what it saw when it cannot tell", async () => {
    await expect(detectFormat(file(jsonl({ foo: 1 })))).rejects.toThrow(
      /cannot tell the format from the keys "foo"/,
    );
    await expect(detectFormat(file("\n\n"))).rejects.toThrow(/file is empty/);
  });

  it("does not take a judgments line without its rater_id for gold answers", async () => {
    // It has comparison_id and gold, but a judgment's other fields too. Taken for gold answers,
    // every line was then refused for keys a gold answer does not have, which blames the file
    // for not being what it never was; being asked for --format names the real question.
    const line = { comparison_id: "c", prompt: "p", choice: "a", gold: "a" };
    await expect(detectFormat(file(jsonl(line)))).rejects.toThrow(
      /cannot tell the format from the keys "comparison_id", "prompt", "choice", "gold"/,
    );
  });
});
