/**
 * Data stages: the world (prompts, the simulated panel's judgments, the SFT corpus, held-out
 * pairs) and collection into the run's feedback store with a verified ledger. Each arm's
 * preference set, read from that store, is made in preferences.ts.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, rmSync } from "node:fs";
import { KeelError } from "../../core/errors.js";
import type { Judgment, LedgerEntry, Parsed } from "../../core/types.js";
import { writeFileAtomic } from "../../io/files.js";
import { parseJudgmentsInWorker } from "../../io/parallel.js";
import { detectFormat, importFormat } from "../../io/registry.js";
import { type FeedbackStore, type ImportBatch, isColumns, openStore } from "../../store/store.js";
import type { Plan } from "../plan.js";
import type { Stage, StageContext } from "../runner.js";
import { generateWorldFiles } from "../world-files.js";
import { panelFiles } from "./generate.js";

export const WORLD_FILES = [
  "world/judgments.jsonl",
  "world/truth.json",
  "world/prompts.jsonl",
  "world/sft.jsonl",
  "world/eval_pairs.jsonl",
] as const;

export function worldStage(plan: Plan): Stage {
  return {
    key: "world",
    title: "world: prompts, simulated rater panel, SFT corpus, held-out pairs",
    weight: 1,
    config: { world: plan.world },
    after: [],
    outputs: WORLD_FILES,
    async run(ctx) {
      const r = await generateWorldFiles(plan.world, ctx.run.file("world"), {
        onProgress: (n, total) => ctx.progress(n / Math.max(total, 1)),
      });
      return {
        comparisons: r.comparisons,
        judgments: r.judgments,
        raters: r.raters,
        prompts: r.prompts,
      };
    },
  };
}

/** The SHA-256 of a file (null if unreadable: the stage then reports the error when it runs). */
export function fileDigest(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const h = createHash("sha256");
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
    return h.digest("hex");
  } catch {
    return null; // a directory opens, and fails at the first read (EISDIR)
  } finally {
    closeSync(fd);
  }
}

/**
 * The clock a simulated panel's judgments are recorded by: the latest simulated `created_at`
 * seen so far (the epoch before any). Every ledger record holds `recorded_at`, so under the
 * wall clock two runs of the same config and seed ended with different ledger heads
 * (collect.json, run-card.json). The store reads the clock once per batch, after the batch has
 * passed `saw`, so each record's `recorded_at` is at or after every `created_at` in its batch.
 * Imported files and stores are real collections: they keep the wall clock.
 */
export class SimulatedClock {
  private latest = 0;

  saw(createdAt: string | undefined): void {
    if (!createdAt) return; // "" in columns when absent
    const t = Date.parse(createdAt);
    if (t > this.latest) this.latest = t;
  }

  readonly now = (): Date => new Date(this.latest);
}

/** A ledger entry as the judgment it records (without its place in the chain). */
function judgmentOf(e: LedgerEntry): Judgment {
  const { seq: _s, recorded_at: _r, prev_hash: _p, hash: _h, ...j } = e;
  return j;
}

/** A store's judgments as import batches, after its ledger verifies. */
async function* storeBatches(source: FeedbackStore): AsyncGenerator<ImportBatch> {
  let batch: Parsed<Judgment>[] = [];
  let line = 0;
  for await (const e of source.judgments()) {
    batch.push({ ok: true, line: ++line, record: judgmentOf(e) });
    if (batch.length === 1000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Where collection reads its judgments from, what to record of it, and how many to expect. */
interface CollectSource {
  readonly batches: AsyncIterable<ImportBatch>;
  readonly origin: Record<string, unknown>;
  /** For progress (0: unknown). */
  readonly expected: number;
  /** The source store, to close after the import (`collect.from: store`). */
  readonly source?: FeedbackStore;
}

async function collectSource(
  plan: Plan,
  ctx: StageContext,
  sha256: string | null | undefined,
): Promise<CollectSource> {
  const c = plan.config.collect;
  if (c.from === "panel") {
    const panel = panelFiles(plan.config).judgments;
    return {
      batches: parseJudgmentsInWorker("judgments", ctx.run.file(panel)),
      origin: { from: "panel", file: panel },
      expected: Number((ctx.inputs.generate ?? ctx.inputs.world)?.judgments ?? 0),
    };
  }
  if (c.from === "import") {
    const path = c.path!;
    const key = c.format === "auto" ? await detectFormat(path) : c.format;
    const format = importFormat(key);
    if (format.kind !== "judgments") {
      throw new KeelError(
        "KEEL_E_CONFIG",
        `format ${key} does not carry judgments with their texts`,
        {
          where: { field: "collect.format" },
        },
      );
    }
    return {
      batches: parseJudgmentsInWorker(format.key, path),
      origin: { from: "import", file: path, format: format.key, sha256 },
      expected: 0,
    };
  }
  const source = await openStore(c.path!);
  try {
    const v = await source.verifyLedger();
    if (!v.ok) {
      throw new KeelError(
        "KEEL_E_LEDGER_BROKEN",
        `the source store's ledger does not verify: ${v.firstBreak?.message ?? "broken"}`,
        { where: { field: "collect.path" } },
      );
    }
    return {
      batches: storeBatches(source),
      origin: {
        from: "store",
        store: source.location,
        source_head_seq: v.head.seq,
        source_head_hash: v.head.hash,
      },
      expected: v.head.seq,
      source,
    };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/** The batches, passed on unchanged, with their raters and comparisons counted on the way. */
async function* countingBatches(
  batches: AsyncIterable<ImportBatch>,
  seen: { raters: Set<string>; comparisons: Set<string>; clock: SimulatedClock | undefined },
): AsyncGenerator<ImportBatch> {
  const { raters, comparisons, clock } = seen;
  for await (const batch of batches) {
    if (isColumns(batch)) {
      for (const r of batch.rater_id) raters.add(r);
      for (const c of batch.comparison_id) comparisons.add(c);
      if (clock) for (const t of batch.created_at) clock.saw(t);
    } else {
      for (const p of batch) {
        if (!p.ok) continue;
        raters.add(p.record.rater_id);
        comparisons.add(p.record.comparison_id);
        if (clock && "created_at" in p.record) clock.saw(p.record.created_at);
      }
    }
    yield batch;
  }
}

/**
 * Collection into the run's own store: the world panel's judgments, a file (any judgment
 * format `keel import` reads), or an existing store whose ledger verifies (the rater web app's).
 */
export function collectStage(plan: Plan): Stage {
  const c = plan.config.collect;
  const sha256 = c.from === "import" ? fileDigest(c.path!) : undefined;
  const what =
    c.from === "panel"
      ? plan.config.generate.from === "world"
        ? "the simulated panel's judgments"
        : "the simulated panel's judgments of the generated candidates"
      : c.from === "import"
        ? `the judgments in ${c.path}`
        : `the judgments of the store ${c.path}`;
  return {
    key: "collect",
    title: `collect: import ${what} into the run's feedback store and verify the ledger`,
    weight: 0.5,
    // An imported file's digest is part of the fingerprint: a changed file re-runs collection
    // (and everything after it) on --resume. A store source is read again only when the
    // config changes.
    config: { collect: c, ...(sha256 !== undefined ? { sha256 } : {}) },
    after: plan.config.generate.from === "world" ? ["world"] : ["world", "generate"],
    outputs: ["collect.json"],
    async run(ctx) {
      const db = ctx.run.file("keel.db");
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
      const clock = c.from === "panel" ? new SimulatedClock() : undefined;
      const store = await openStore(db, { create: true, ...(clock ? { now: clock.now } : {}) });
      let source: FeedbackStore | undefined;
      try {
        const from = await collectSource(plan, ctx, sha256);
        source = from.source;
        const { batches, origin, expected } = from;
        // Raters and comparisons counted as the records pass (no second read of the store).
        const raters = new Set<string>();
        const comparisons = new Set<string>();
        const counted = countingBatches(batches, { raters, comparisons, clock });
        const r = await store.importJudgments(counted, {
          source: String(origin.file ?? origin.store),
          onProgress: (n) => ctx.progress(expected > 0 ? n / expected : 0.5),
        });
        if (r.appended === 0) {
          // The field leads the message; "collect: collect: …" said it twice.
          const none = c.from === "panel" && expected === 0;
          throw new KeelError("KEEL_E_CONFIG", `the collect stage got no judgments from ${what}`, {
            where: { field: none ? "world.comparisons.count" : "collect" },
            ...(none
              ? { hint: "the world drew no comparisons: give world.comparisons.count above 0" }
              : {}),
          });
        }
        const v = await store.verifyLedger();
        const result = {
          ...origin,
          judgments: r.appended,
          raters: raters.size,
          comparisons: comparisons.size,
          duplicates: r.duplicates,
          ledger_ok: v.ok,
          head_seq: v.head.seq,
          head_hash: v.head.hash,
        };
        await writeFileAtomic(ctx.run.file("collect.json"), `${JSON.stringify(result, null, 2)}\n`);
        return result;
      } finally {
        await source?.close();
        await store.close();
      }
    },
  };
}

/** Every judgment in the run's store, in ledger order. */
export async function storedJudgments(ctx: StageContext): Promise<Judgment[]> {
  const store = await openStore(ctx.run.file("keel.db"));
  try {
    const out: Judgment[] = [];
    for await (const e of store.judgments()) {
      out.push(judgmentOf(e));
    }
    return out;
  } finally {
    await store.close();
  }
}
