/**
 * zodIssueMessage on its own: with the input and schema it re-points a union's failure to the
 * field that is wrong; without them (config files, HTTP bodies that place the message
 * themselves) it keeps the first issue's own path and still words it plainly.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { zodIssueMessage } from "../../src/core/issue-messages.js";
import { ContentSchema, JudgmentSchema } from "../../src/core/schemas.js";

function messageOf(schema: z.ZodType, input: unknown, withContext: boolean) {
  const r = schema.safeParse(input);
  if (r.success) throw new Error("expected a rejection");
  return withContext ? zodIssueMessage(r.error, { input, schema }) : zodIssueMessage(r.error);
}

const Row = z.strictObject({ prompt: ContentSchema, n: z.number().min(1).optional() });

describe("zodIssueMessage", () => {
  it("names the field inside a union when it has the input", () => {
    const got = messageOf(Row, { prompt: [{ role: "user" }] }, true);
    expect(got).toMatchObject({ field: "prompt.0.content", message: "is required" });
    expect(got.path).toEqual(["prompt", 0, "content"]);
  });

  it("keeps the first issue's path without the input, and never says only 'Invalid input'", () => {
    const got = messageOf(Row, { prompt: [{ role: "user" }] }, false);
    expect(got.field).toBe("prompt");
    expect(got.path).toEqual(["prompt"]);
    expect(messageOf(Row, { prompt: 5 }, false).message).toBe(
      "expected string or array, received number (accepted: a string, or a list of {role, content} messages)",
    );
    expect(messageOf(Row, { prompt: "p", n: 0 }, false).message).toBe("must be at least 1");
    expect(messageOf(z.object({ c: z.enum(["a", "b"]) }), { c: "x" }, false).message).toBe(
      'must be one of "a", "b"',
    );
  });

  it("reports a misspelt field before the field it leaves missing, with the schema", () => {
    const { choice: _, ...rest } = {
      comparison_id: "c",
      prompt: "p",
      response_a: "a",
      response_b: "b",
      rater_id: "r",
      choice: "a",
    };
    const input = { ...rest, choise: "a" };
    expect(messageOf(JudgmentSchema, input, true)).toMatchObject({
      field: "(record)",
      message: 'unknown field "choise" (did you mean "choice"?)',
    });
    expect(messageOf(JudgmentSchema, input, false)).toMatchObject({
      field: "choice",
      message: 'must be one of "a", "b", "tie"',
    });
  });

  it("does not stringify a large or deeply nested value into the message", () => {
    const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    const got = messageOf(z.object({ c: z.enum(["a"]) }), { c: deep }, true);
    expect(got.message).toBe('must be "a"; got an array');
  });
});

describe("zodIssueMessage without the input, inside a union", () => {
  it("keeps the union's field and says where inside it the value is wrong", () => {
    expect(messageOf(Row, { prompt: [{ role: "user" }] }, false)).toMatchObject({
      field: "prompt",
      message:
        "expected a string, or a list of {role, content} messages; at prompt.0.content: is required",
    });
  });
});
