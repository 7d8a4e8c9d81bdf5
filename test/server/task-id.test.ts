/**
 * What a rater's browser is given of a task: an id that names one (project, rater, comparison)
 * and cannot be made without the server's secret, and a display order mapped back to the stored
 * answer; and the queue's keyed seeds, which only the secret can reproduce.
 */
import { describe, expect, it } from "vitest";
import type { Choice, ShownOrder } from "../../src/core/types.js";
import { toSide, toStored } from "../../src/server/routes/sides.js";
import { TaskIds } from "../../src/server/tasks/task-id.js";

const ids = new TaskIds(Buffer.alloc(32, 7));
const other = new TaskIds(Buffer.alloc(32, 8));

describe("task ids", () => {
  it("are 22 url-safe characters, one per project, rater and comparison, stable", () => {
    const id = ids.taskId("p", "u1", "c1");
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(ids.taskId("p", "u1", "c1")).toBe(id);
    const variants = [
      ids.taskId("p", "u2", "c1"),
      ids.taskId("p", "u1", "c2"),
      ids.taskId("q", "u1", "c1"),
      other.taskId("p", "u1", "c1"),
    ];
    expect(new Set([id, ...variants]).size).toBe(5);
  });

  it("give every rater their own order of the two responses", () => {
    // Over 64 raters of one comparison, a fair coin per rater shows both orders.
    const orders = new Set(Array.from({ length: 64 }, (_, k) => ids.shownOrder("p", `u${k}`, "c")));
    expect(orders).toEqual(new Set(["ab", "ba"]));
  });

  it("key the queue's seeds by the secret: same secret same seed, another secret another", () => {
    const label = "seed/gold/u1/0";
    expect(ids.keyedSeed(label)).toBe(new TaskIds(Buffer.alloc(32, 7)).keyedSeed(label));
    expect(ids.keyedSeed(label)).not.toBe(other.keyedSeed(label));
    expect(ids.keyedSeed(label)).not.toBe(ids.keyedSeed("seed/gold/u1/1"));
  });
});

describe("the rater's side and the stored choice", () => {
  it("map through the order shown, both ways", () => {
    const cases: [ShownOrder, "left" | "right", Choice][] = [
      ["ab", "left", "a"],
      ["ab", "right", "b"],
      ["ba", "left", "b"],
      ["ba", "right", "a"],
    ];
    for (const [order, side, choice] of cases) {
      expect(toStored(side, order)).toBe(choice);
      expect(toSide(choice, order)).toBe(side);
    }
    for (const order of ["ab", "ba"] as const) {
      expect(toStored("tie", order)).toBe("tie");
      expect(toSide("tie", order)).toBe("tie");
    }
  });
});
