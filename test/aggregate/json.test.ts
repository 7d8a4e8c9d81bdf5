import { describe, expect, it } from "vitest";
import {
  categoricalToJson,
  dawidSkene,
  encodeCategorical,
  encodePairwise,
  noisyBradleyTerry,
  pairwiseToJson,
} from "../../src/aggregate/index.js";

describe("result JSON keyed by names from the data", () => {
  it("keeps a task, worker or class named __proto__ as an ordinary key", () => {
    const d = encodeCategorical([
      { task: "__proto__", worker: "w1", label: "x" },
      { task: "t2", worker: "__proto__", label: "constructor" },
      { task: "t2", worker: "w1", label: "__proto__" },
    ]);
    const json = JSON.parse(JSON.stringify(categoricalToJson(dawidSkene(d))));
    expect(Object.keys(json.labels).sort()).toEqual(["__proto__", "t2"]);
    expect(Object.keys(json.probas).sort()).toEqual(["__proto__", "t2"]);
    expect(Object.keys(json.probas.t2).sort()).toEqual(["__proto__", "constructor", "x"]);
    expect(Object.keys(json.priors).sort()).toEqual(["__proto__", "constructor", "x"]);
    expect(Object.keys(json.errors).sort()).toEqual(["__proto__", "w1"]);
    // JSON.parse made it an own key; reading it with [] would still hit the accessor.
    const row = Object.getOwnPropertyDescriptor(json.errors.w1, "__proto__")?.value;
    expect(Object.keys(row).sort()).toEqual(["__proto__", "constructor", "x"]);
  });

  it("keeps an item or worker named __proto__ in pairwise scores, skills and biases", () => {
    const d = encodePairwise([
      { worker: "__proto__", left: "__proto__", right: "b", label: "__proto__" },
      { worker: "w", left: "b", right: "__proto__", label: "b" },
    ]);
    const json = JSON.parse(JSON.stringify(pairwiseToJson(noisyBradleyTerry(d))));
    expect(Object.keys(json.scores).sort()).toEqual(["__proto__", "b"]);
    expect(Object.keys(json.skills).sort()).toEqual(["__proto__", "w"]);
    expect(Object.keys(json.biases).sort()).toEqual(["__proto__", "w"]);
  });
});
