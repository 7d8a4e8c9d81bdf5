/**
 * The group committer over a ledger that answers as the test says (no database): a burst larger
 * than `maxBatch` is committed batch after batch, every submitter answered with its own receipt;
 * a batch that fails as a whole is retried one judgment at a time; only what was appended counts
 * as committed; and `drain` waits for a commit in flight.
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import type { Refusal, Stake } from "../../src/server/tasks/admit.js";
import type { AppendResult, LedgerAppend } from "../../src/server/tasks/append.js";
import { type CommitOutcome, GroupCommitter } from "../../src/server/tasks/commit.js";
import { JUDGMENT_OF_SKIPPED_TASK } from "../../src/store/migrations/0003_task_outcome.js";

const judgment = (comparison_id: string): Judgment =>
  ({
    comparison_id,
    prompt: "p",
    response_a: "a",
    response_b: "b",
    rater_id: "r",
    choice: "a",
  }) as Judgment;

/**
 * A ledger whose answers are set by comparison id: `dup-*` duplicates a stored judgment,
 * `full-*` is refused at commit, `skipped-*` and `broken-*` fail the whole transaction they are
 * in (as the store's trigger and a failing disk would).
 */
class ScriptedLedger implements LedgerAppend {
  readonly batches: string[][] = [];
  private seq = 0;
  /** Holds each append until opened. */
  gate: Promise<void> = Promise.resolve();

  async append(judgments: readonly Judgment[], stakes?: readonly (Stake | undefined)[]) {
    await this.gate;
    const ids = judgments.map((j) => j.comparison_id);
    if (ids.some((id) => id.startsWith("skipped-"))) throw new Error(JUDGMENT_OF_SKIPPED_TASK);
    if (ids.some((id) => id.startsWith("broken-"))) throw new Error("disk I/O error");
    this.batches.push(ids);
    const r: AppendResult = { rows: [], duplicates: [], refused: [] };
    const rows: { seq: number; hash: string }[] = [];
    const duplicates: number[] = [];
    const refused: [number, Refusal][] = [];
    ids.forEach((id, i) => {
      if (id.startsWith("dup-")) duplicates.push(i);
      else if (id.startsWith("full-") && stakes?.[i]) refused.push([i, "full"]);
      else rows.push({ seq: ++this.seq, hash: `h-${id}` });
    });
    return { ...r, rows, duplicates, refused };
  }

  async close(): Promise<void> {}
}

const stake = (comparison_id: string): Stake => ({
  project_id: "p",
  user_id: "r",
  comparison_id,
  capped: true,
});

/** Submits each id; the outcomes so far by id (a submission never answered stays absent). */
function submitAll(c: GroupCommitter, ids: readonly string[], staked = false) {
  const outcomes = new Map<string, CommitOutcome | "rejected">();
  const all = ids.map((id) =>
    c
      .submit(judgment(id), staked ? stake(id) : undefined)
      .then((o) => void outcomes.set(id, o))
      .catch(() => void outcomes.set(id, "rejected")),
  );
  return { outcomes, all };
}

/** Lets every answer already given reach its submitter. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("the group committer", () => {
  it("answers every judgment of a burst larger than maxBatch, each with its own receipt", async () => {
    const ledger = new ScriptedLedger();
    const c = new GroupCommitter(ledger, { maxBatch: 3 });
    const ids = Array.from({ length: 8 }, (_, k) => `c${k}`);
    const { outcomes } = submitAll(c, ids);
    await c.drain();
    await settle();
    expect(ledger.batches).toEqual([
      ["c0", "c1", "c2"],
      ["c3", "c4", "c5"],
      ["c6", "c7"],
    ]);
    expect(ids.map((id) => outcomes.get(id))).toEqual(
      ids.map((id, k) => ({ status: "appended", seq: k + 1, hash: `h-${id}` })),
    );
    expect(c.stats).toEqual({ commits: 3, judgments: 8, maxBatch: 3 });
  });

  it("retries a failed batch one at a time: only the failing judgments fail, each in its own way", async () => {
    const ledger = new ScriptedLedger();
    const c = new GroupCommitter(ledger);
    const { outcomes, all } = submitAll(c, ["c0", "skipped-1", "broken-2", "c3"]);
    await Promise.all(all);
    expect(outcomes.get("c0")).toMatchObject({ status: "appended", hash: "h-c0" });
    expect(outcomes.get("skipped-1")).toEqual({ status: "skipped" });
    expect(outcomes.get("broken-2")).toBe("rejected");
    expect(outcomes.get("c3")).toMatchObject({ status: "appended", hash: "h-c3" });
  });

  it("counts as committed only what was appended, not duplicates or refusals", async () => {
    const ledger = new ScriptedLedger();
    const committed: string[] = [];
    const c = new GroupCommitter(ledger, {
      onCommitted: (js) => committed.push(...js.map((j) => j.comparison_id)),
    });
    const ids = ["c0", "full-1", "dup-2", "c3"];
    const { outcomes, all } = submitAll(c, ids, true);
    await Promise.all(all);
    expect(ids.map((id) => outcomes.get(id))).toEqual([
      { status: "appended", seq: 1, hash: "h-c0" },
      { status: "refused", reason: "full" },
      { status: "duplicate" },
      { status: "appended", seq: 2, hash: "h-c3" },
    ]);
    expect(committed).toEqual(["c0", "c3"]);
    expect(c.stats.judgments).toBe(2);
  });

  it("drains only once the commit in flight has committed", async () => {
    const ledger = new ScriptedLedger();
    let open = () => {};
    ledger.gate = new Promise((resolve) => (open = resolve));
    const c = new GroupCommitter(ledger);
    const { outcomes } = submitAll(c, ["c0"]);
    // The batch has left the queue and waits in the ledger.
    await settle();
    let drained = false;
    const draining = c.drain().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false);
    open();
    await draining;
    await settle();
    expect(outcomes.get("c0")).toMatchObject({ status: "appended" });
  });
});
