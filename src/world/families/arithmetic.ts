/**
 * Arithmetic prompts: addition and subtraction of numbers below 1000, multiplication of two
 * numbers below 100, and exact division. The answer is a number; the oracle reads the stated
 * final answer ("The answer is 12.", "= 12", or the last number that is not an operand).
 * Example: "What is 7 + 5?" → 12; a wrong answer is off by a small amount (13, 2, 22).
 */
import type { Rng } from "../../core/rng.js";
import type { Template } from "../template.js";
import type { ResponseKind } from "../types.js";
import {
  type FamilyDef,
  makeRecognizer,
  type PromptSpec,
  pickTemplate,
  verbose,
} from "./family.js";

type Op = "add" | "sub" | "mul" | "div";
const CATEGORIES: readonly Op[] = ["add", "sub", "mul", "div"];

const TEMPLATES: readonly Template[] = [
  { id: "add.0", category: "add", text: "What is {a} + {b}?" },
  { id: "add.1", category: "add", text: "Compute {a} plus {b}." },
  { id: "add.2", category: "add", text: "What is the sum of {a} and {b}?" },
  { id: "add.3", category: "add", text: "Add {a} and {b}." },
  { id: "add.4", category: "add", text: "Calculate {a} + {b}." },
  { id: "sub.0", category: "sub", text: "What is {a} - {b}?" },
  { id: "sub.1", category: "sub", text: "What is {a} minus {b}?" },
  { id: "sub.2", category: "sub", text: "Subtract {b} from {a}." },
  { id: "sub.3", category: "sub", text: "Calculate {a} - {b}." },
  { id: "mul.0", category: "mul", text: "What is {a} * {b}?" },
  { id: "mul.1", category: "mul", text: "What is {a} times {b}?" },
  { id: "mul.2", category: "mul", text: "Multiply {a} by {b}." },
  { id: "mul.3", category: "mul", text: "What is the product of {a} and {b}?" },
  { id: "div.0", category: "div", text: "What is {a} / {b}?" },
  { id: "div.1", category: "div", text: "What is {a} divided by {b}?" },
  { id: "div.2", category: "div", text: "Divide {a} by {b}." },
];

const SYMBOL: Readonly<Record<Op, string>> = { add: "+", sub: "-", mul: "*", div: "/" };

export function evaluate(op: Op, a: number, b: number): number {
  switch (op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return a / b;
  }
}

function spec(template: Template, a: number, b: number): PromptSpec {
  const op = template.category as Op;
  return {
    family: "arithmetic",
    category: op,
    template: template.id,
    content: template.text.replace("{a}", String(a)).replace("{b}", String(b)),
    slots: { a, b },
    answer: { type: "number", value: evaluate(op, a, b) },
  };
}

function sample(rng: Rng): PromptSpec {
  const op = rng.pick(CATEGORIES);
  const t = pickTemplate(rng, TEMPLATES, op);
  switch (op) {
    case "add":
    case "sub":
      return spec(t, rng.int(1000), rng.int(1000));
    case "mul":
      return spec(t, 2 + rng.int(98), 2 + rng.int(98));
    case "div": {
      const b = 2 + rng.int(19);
      return spec(t, b * (2 + rng.int(98)), b);
    }
  }
}

const recognize = makeRecognizer(TEMPLATES, { a: "\\d+", b: "\\d+" }, (t, g) => {
  const a = Number(g.a);
  const b = Number(g.b);
  if (t.category === "div" && (b === 0 || a % b !== 0)) return undefined;
  return spec(t, a, b);
});

/** A plausible wrong result: off by one, two or ten, or by an operand for products. */
export function wrongResult(op: Op, a: number, b: number, rng: Rng): number {
  const r = evaluate(op, a, b);
  const deltas = op === "mul" ? [1, -1, a, -a, 10] : [1, -1, 2, -2, 10, -10];
  let w = r + rng.pick(deltas);
  if (w === r) w = r + 1;
  return w;
}

const VERB: Readonly<Record<Op, string>> = {
  add: "add",
  sub: "subtract",
  mul: "multiply",
  div: "divide",
};

function explain(op: Op, a: number, b: number, r: number): string {
  switch (op) {
    case "add":
      return `Adding ${b} to ${a} gives ${r}.`;
    case "sub":
      return `Taking ${b} away from ${a} leaves ${r}.`;
    case "mul":
      return `Multiplying ${a} by ${b} gives ${r}.`;
    case "div":
      return `Splitting ${a} into ${b} equal parts gives ${r} in each part.`;
  }
}

function respond(p: PromptSpec, kind: ResponseKind, rng: Rng): string {
  const op = p.category as Op;
  const a = p.slots.a as number;
  const b = p.slots.b as number;
  const good = kind === "correct" || kind === "verbose_correct";
  const r = good ? evaluate(op, a, b) : wrongResult(op, a, b, rng);
  if (kind === "correct" || kind === "wrong") {
    return rng.pick([
      `The answer is ${r}.`,
      `${a} ${SYMBOL[op]} ${b} = ${r}.`,
      `${r}`,
      `It is ${r}.`,
    ]);
  }
  if (kind === "verbose_correct" || kind === "verbose_wrong") {
    return verbose(rng, [
      `We need to ${VERB[op]} the numbers ${a} and ${b}, so let us work through it slowly.`,
      explain(op, a, b, r),
      "Checking the arithmetic a second time gives the same result.",
      `So the answer is ${r}.`,
    ]);
  }
  throw new RangeError(`arithmetic cannot write a ${kind} response`);
}

export const ARITHMETIC: FamilyDef = {
  family: "arithmetic",
  categories: CATEGORIES,
  templates: TEMPLATES,
  sample,
  recognize,
  respond,
};
