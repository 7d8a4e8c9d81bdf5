/** writeJsonFile writes the very bytes of JSON.stringify, streaming containers past 256 entries. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeJsonFile } from "../../src/io/json-file.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();
let n = 0;
async function written(value: unknown, indent: number): Promise<string> {
  const path = join(dir, `v${n++}.json`);
  await writeJsonFile(path, value, { indent });
  return readFileSync(path, "utf8");
}

/** JSON-like values with the odd cases JSON.stringify handles: undefined, NaN, ±Infinity, -0. */
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, "\u2028</script>\n\t"),
);
const big = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 256, maxLength: 300 });

describe("writeJsonFile", () => {
  it("matches JSON.stringify for large arrays and objects, compact and indented", async () => {
    const value = fc.oneof(
      big(leaf),
      fc.dictionary(fc.string(), leaf, { minKeys: 256, maxKeys: 300 }),
      fc.record({
        method: fc.string(),
        labels: fc.dictionary(fc.string(), leaf, { minKeys: 256, maxKeys: 300 }),
        rows: big(fc.record({ id: fc.string(), p: leaf, tags: fc.array(leaf) })),
        nested: fc.array(big(leaf), { maxLength: 2 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.constantFrom(0, 2), async (v, indent) => {
        expect(await written(v, indent)).toBe(`${JSON.stringify(v, null, indent)}\n`);
      }),
      { numRuns: 40 },
    );
  });

  it("writes objects without a prototype (aggregate's name-keyed maps) and toJSON values", async () => {
    const labels = Object.create(null) as Record<string, unknown>;
    for (let i = 0; i < 300; i++) labels[i === 7 ? "__proto__" : `t${i}`] = i % 3 === 0 ? "a" : "b";
    const v = { labels, at: new Date(0), small: Object.assign(Object.create(null), { x: 1 }) };
    for (const indent of [0, 2])
      expect(await written(v, indent)).toBe(`${JSON.stringify(v, null, indent)}\n`);
  });
});
