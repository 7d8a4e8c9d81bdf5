/**
 * Every import format's answer to deliberately wrong lines, run through the registry's real
 * parser: the message must name the precise field and say what is wrong and what is accepted
 * (`file:line: field: what is wrong`), never a bare "Invalid input".
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Parsed } from "../../src/core/types.js";
import { importFormat } from "../../src/io/registry.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-messages-");
let n = 0;

/** The error message for the one line of a file of format `key`, without the file name. */
async function messageFor(key: string, content: string, ext = "jsonl"): Promise<string> {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, `${content}\n`);
  const parsed: Parsed<unknown>[] = [];
  const batches = importFormat(key).parse(path, {}) as AsyncIterable<Parsed<unknown>[]>;
  for await (const batch of batches) parsed.push(...batch);
  const bad = parsed.filter((p) => !p.ok);
  expect(bad).toHaveLength(1);
  const message = bad[0]!.ok ? "" : bad[0]!.error.message;
  expect(message.startsWith(`${path}:`)).toBe(true);
  return message.slice(path.length + 1);
}

const j = {
  comparison_id: "c1",
  prompt: "p",
  response_a: "a",
  response_b: "b",
  rater_id: "r",
  choice: "a",
};
const line = (o: unknown) => JSON.stringify(o);
const judgment = (o: Record<string, unknown>) => line({ ...j, ...o });
const JUDGMENT_FIELDS =
  "comparison_id, prompt, response_a, response_b, rater_id, choice, gold, created_at, latency_ms, shown_order, rationale, flags";
const CONTENT =
  "expected string or array, received %s (accepted: a string, or a list of {role, content} messages)";
const content = (received: string) => CONTENT.replace("%s", received);

const table: [format: string, input: string, expected: string][] = [
  // keel judgments JSONL
  [
    "judgments",
    judgment({ choice: "A" }),
    `1: choice: must be one of "a", "b", "tie"; got "A" (did you mean "a"?)`,
  ],
  [
    "judgments",
    judgment({ choice: "left" }),
    `1: choice: must be one of "a", "b", "tie"; got "left"`,
  ],
  ["judgments", judgment({ choice: 1 }), `1: choice: must be one of "a", "b", "tie"; got 1`],
  ["judgments", judgment({ choice: null }), `1: choice: must be one of "a", "b", "tie"; got null`],
  ["judgments", judgment({ choice: undefined }), `1: choice: is required (one of "a", "b", "tie")`],
  ["judgments", judgment({ gold: "yes" }), `1: gold: must be one of "a", "b", "tie"; got "yes"`],
  [
    "judgments",
    judgment({ shown_order: "abc" }),
    `1: shown_order: must be one of "ab", "ba"; got "abc" (did you mean "ab"?)`,
  ],
  ["judgments", judgment({ rater_id: "" }), "1: rater_id: must not be empty"],
  ["judgments", judgment({ rater_id: "a\nb" }), "1: rater_id: must not contain control characters"],
  // A C1 CSI and a right-to-left override would drive or spoof the terminal tables ids reach.
  [
    "judgments",
    judgment({ rater_id: "a\u009b2Jb" }),
    "1: rater_id: must not contain control characters",
  ],
  [
    "judgments",
    judgment({ comparison_id: "c\u202e1" }),
    "1: comparison_id: must not contain control characters",
  ],
  // An invisible character would let a rater id display as another's ("alice\u200b").
  [
    "judgments",
    judgment({ rater_id: "alice\u200b" }),
    "1: rater_id: must not contain control characters",
  ],
  [
    "judgments",
    judgment({ rater_id: "\ufeffbob" }),
    "1: rater_id: must not contain control characters",
  ],
  [
    "judgments",
    judgment({ rater_id: "x".repeat(300) }),
    "1: rater_id: must be at most 256 characters",
  ],
  [
    "judgments",
    judgment({ comparison_id: 5 }),
    "1: comparison_id: expected string, received number",
  ],
  ["judgments", judgment({ latency_ms: -1 }), "1: latency_ms: must be at least 0; got -1"],
  [
    "judgments",
    judgment({ latency_ms: 1e11 }),
    "1: latency_ms: must be at most 10000000000; got 100000000000",
  ],
  ["judgments", judgment({ latency_ms: "5" }), "1: latency_ms: expected number, received string"],
  [
    "judgments",
    judgment({}).replace('"choice":"a"', '"choice":"a","latency_ms":1e999'),
    "1: latency_ms: expected number, received Infinity",
  ],
  [
    "judgments",
    judgment({ created_at: "yesterday" }),
    '1: created_at: must be an ISO-8601 date-time with a time zone, such as 2026-03-01T10:00:00Z; got "yesterday"',
  ],
  [
    "judgments",
    judgment({ choise: "a" }),
    '1: (record): unknown field "choise" (did you mean "choice"?)',
  ],
  [
    "judgments",
    judgment({ prompt: [{ role: "user", contnet: "x" }] }),
    '1: prompt.0: unknown field "contnet" (did you mean "content" (prompt.0.content)?)',
  ],
  [
    "judgments",
    judgment({ rationale: "x".repeat(10_001) }),
    "1: rationale: must be at most 10000 characters",
  ],
  [
    "judgments",
    judgment({ response_a: "x".repeat(1_000_001) }),
    "1: response_a: must be at most 1000000 characters",
  ],
  [
    "judgments",
    judgment({ extra: 1 }),
    `1: (record): unknown field "extra" (known fields: ${JUDGMENT_FIELDS})`,
  ],
  [
    "judgments",
    judgment({ extra: 1, more: 2 }),
    `1: (record): unknown fields "extra", "more" (known fields: ${JUDGMENT_FIELDS})`,
  ],
  ["judgments", judgment({ prompt: 3 }), `1: prompt: ${content("number")}`],
  ["judgments", judgment({ prompt: null }), `1: prompt: ${content("null")}`],
  [
    "judgments",
    judgment({ prompt: { role: "user", content: "x" } }),
    `1: prompt: ${content("object")}`,
  ],
  ["judgments", judgment({ prompt: [] }), "1: prompt: a message list must not be empty"],
  ["judgments", judgment({ prompt: [{ role: "user" }] }), "1: prompt.0.content: is required"],
  ["judgments", judgment({ prompt: [{ content: "x" }] }), "1: prompt.0.role: is required"],
  [
    "judgments",
    judgment({ prompt: [{ role: "", content: "x" }] }),
    "1: prompt.0.role: must not be empty",
  ],
  [
    "judgments",
    judgment({ prompt: [{ role: "a\nb", content: "x" }] }),
    "1: prompt.0.role: must not contain control characters",
  ],
  [
    "judgments",
    judgment({ prompt: [{ role: "x".repeat(70), content: "x" }] }),
    "1: prompt.0.role: must be at most 64 characters",
  ],
  [
    "judgments",
    judgment({ response_a: [{ role: "user", content: 5 }] }),
    "1: response_a.0.content: expected string, received number",
  ],
  [
    "judgments",
    judgment({ response_b: [{ role: "user", content: "x", name: "n" }] }),
    '1: response_b.0: unknown field "name" (known fields: role, content)',
  ],
  [
    "judgments",
    judgment({ prompt: ["hi"] }),
    "1: prompt.0: expected an object {role, content}, received string",
  ],
  [
    "judgments",
    judgment({ prompt: [null] }),
    "1: prompt.0: expected an object {role, content}, received null",
  ],
  [
    "judgments",
    judgment({
      prompt: [
        { role: "user", content: "ok" },
        { role: "assistant", content: ["x"] },
      ],
    }),
    "1: prompt.1.content: expected string, received array",
  ],
  ["judgments", judgment({ flags: [""] }), "1: flags.0: must not be empty"],
  ["judgments", judgment({ flags: ["a\tb"] }), "1: flags.0: must not contain control characters"],
  ["judgments", judgment({ flags: "x" }), "1: flags: expected array, received string"],
  ["judgments", judgment({ rationale: 5 }), "1: rationale: expected string, received number"],
  ["judgments", line([j]), `1: (record): expected an object {${JUDGMENT_FIELDS}}, received array`],
  [
    "judgments",
    line("hello"),
    `1: (record): expected an object {${JUDGMENT_FIELDS}}, received string`,
  ],
  ["judgments", "null", `1: (record): expected an object {${JUDGMENT_FIELDS}}, received null`],
  ["judgments", "{}", "1: comparison_id: is required"],
  // TRL
  [
    "trl",
    line({ prompt: [{ role: "user" }], chosen: "a", rejected: "b" }),
    "1: prompt.0.content: is required",
  ],
  [
    "trl",
    line({ prompt: "p", chosen: ["a"], rejected: "b" }),
    "1: chosen.0: expected an object {role, content}, received string",
  ],
  [
    "trl",
    line({ prompt: "p", chosen: [{ role: "assistant", content: "x", extra: 1 }], rejected: "b" }),
    '1: chosen.0: unknown field "extra" (known fields: role, content)',
  ],
  ["trl", line({ prompt: "p", chosen: 5, rejected: "b" }), `1: chosen: ${content("number")}`],
  [
    "trl",
    line({ prompt: "p", chosen: "a" }),
    "1: rejected: is required (accepted: a string, or a list of {role, content} messages)",
  ],
  [
    "trl",
    line({ prompt: "p", chosen: "a", rejected: "b", weight: "1" }),
    "1: weight: expected number, received string",
  ],
  [
    "trl",
    line({ prompt: "p", chosen: "a", rejected: "b", extra: 1 }),
    '1: (record): unknown field "extra" (known fields: prompt, chosen, rejected, weight, margin, id, rater_id)',
  ],
  ["trl", line({ prompt: "p", chosen: "a", rejected: "b", id: "" }), "1: id: must not be empty"],
  [
    "trl",
    line({ prompt: "p", chosen: [], rejected: "b" }),
    "1: chosen: a message list must not be empty",
  ],
  [
    "trl",
    line([1]),
    "1: (record): expected an object {prompt, chosen, rejected, weight, margin, id, rater_id}, received array",
  ],
  // HH-RLHF
  ["hh-rlhf", line({ chosen: 5, rejected: "x" }), "1: chosen: expected string, received number"],
  ["hh-rlhf", line({ chosen: "x" }), "1: rejected: is required"],
  [
    "hh-rlhf",
    line({ chosen: "x", rejected: "y", prompt: "p" }),
    '1: (record): unknown field "prompt" (known fields: chosen, rejected)',
  ],
  ["hh-rlhf", line("str"), "1: (record): expected an object {chosen, rejected}, received string"],
  // crowd-kit categorical
  ["crowd-kit", line({ task: "", worker: "w", label: "a" }), "1: task: must not be empty"],
  ["crowd-kit", line({ task: "t", worker: "w" }), "1: label: is required"],
  [
    "crowd-kit",
    line({ task: "t", worker: ["w"], label: "a" }),
    "1: worker: expected string, received array",
  ],
  [
    "crowd-kit",
    line({ task: "t", worker: "w", label: "a", x: 1 }),
    '1: (record): unknown field "x" (known fields: task, worker, label)',
  ],
  ["crowd-kit", "[]", "1: (record): expected an object {task, worker, label}, received array"],
  // crowd-kit pairwise
  [
    "crowd-kit-pairwise",
    line({ worker: "w", left: "x", right: "y", label: "z" }),
    '1: label: must equal left or right (the preferred item): "x" or "y"; got "z"',
  ],
  [
    "crowd-kit-pairwise",
    line({ worker: "w", left: "x", right: "x", label: "x" }),
    "1: right: left and right must differ",
  ],
  [
    "crowd-kit-pairwise",
    line({ worker: "w", left: {}, right: "y", label: "y" }),
    "1: left: expected string, received object",
  ],
  // gold
  [
    "gold",
    line({ comparison_id: "c", gold: "A" }),
    `1: gold: must be one of "a", "b", "tie"; got "A" (did you mean "a"?)`,
  ],
  ["gold", line({ comparison_id: "c" }), `1: gold: is required (one of "a", "b", "tie")`],
  [
    "gold",
    line({ comparison_id: 1, gold: "a" }),
    "1: comparison_id: expected string, received number",
  ],
  // raters
  [
    "raters",
    line({ rater_id: "r", attributes: { locale: 5 } }),
    "1: attributes.locale: expected string, received number",
  ],
  [
    "raters",
    line({ rater_id: "r", attributes: ["de"] }),
    "1: attributes: expected object, received array",
  ],
  [
    "raters",
    line({ rater_id: "r", attributes: null }),
    "1: attributes: expected object, received null",
  ],
  [
    "raters",
    line({ rater_id: "r", attributes: { "": "x" } }),
    '1: attributes: key "" must not be empty',
  ],
  [
    "raters",
    line({ rater_id: "r", attributes: { ["k".repeat(65)]: "x" } }),
    `1: attributes: key "${"k".repeat(40)}…" must be at most 64 characters`,
  ],
  [
    "raters",
    line({ rater_id: "r", attrs: {} }),
    '1: (record): unknown field "attrs" (known fields: rater_id, attributes)',
  ],
];

const csvTable: [format: string, input: string, expected: string][] = [
  ["crowd-kit", "task,worker,label\n,w,a", "2: task: must not be empty"],
  [
    "crowd-kit-pairwise",
    "worker,left,right,label\nw,x\ty,y,y",
    "2: left: must not contain control characters",
  ],
  [
    "crowd-kit-pairwise",
    "worker,left,right,label\nw,x,y,left",
    '2: label: must equal left or right (the preferred item): "x" or "y"; got "left"',
  ],
  ["gold", "task,true_label\nc,yes", `2: gold: must be one of "a", "b", "tie"; got "yes"`],
];

describe("import error messages name the field and say what is accepted", () => {
  it.each(table)("%s %s", async (format, input, expected) => {
    expect(await messageFor(format, input)).toBe(expected);
  });

  it.each(csvTable)("%s CSV %j", async (format, input, expected) => {
    expect(await messageFor(format, input, "csv")).toBe(expected);
  });

  it("never says only 'Invalid input'", async () => {
    for (const [format, input] of table) {
      expect(await messageFor(format, input)).not.toMatch(
        /Invalid (input|option|string)|Too (small|big)/,
      );
    }
  });
});
