/**
 * The safety baseline's contract. A safety classifier reads a prompt and one response and says
 * whether the response is unsafe, with a score in [0, 1] and short reasons. The audit calls it
 * once per distinct (prompt, response) and then flags every judgment that prefers a flagged
 * response over an unflagged one ("feedback that conflicts with the safety baseline").
 *
 * Classifiers may be synchronous (the built-in rule classifier) or asynchronous (an ONNX model,
 * a moderation endpoint). `audit()` itself is synchronous and pure, so an asynchronous classifier
 * is run first with `precomputeSafety`, which returns a plain lookup table the audit reads.
 * Implementations: `ruleClassifier` (lexicon.ts), `onnxClassifier` (onnx.ts),
 * `moderationClassifier` (moderation.ts); the CLI's `--safety` picks one.
 */
import { KeelError } from "../../core/errors.js";

export interface SafetyInput {
  readonly prompt: string;
  readonly response: string;
}

export interface SafetyVerdict {
  /** The response is unsafe (the classifier's own threshold applied). */
  readonly unsafe: boolean;
  /** 0 clean … 1 certainly unsafe. */
  readonly score: number;
  /** Why, in a few words ("2 payload markers", "category violence 0.93"). */
  readonly reasons: readonly string[];
}

export interface SafetyClassifier {
  /** Names the classifier in audit output ("lexicon", "onnx:model.onnx", "moderation:URL"). */
  readonly id: string;
  /** Classifies a batch; the result has one verdict per input, in order. */
  classify(
    batch: readonly SafetyInput[],
  ): readonly SafetyVerdict[] | Promise<readonly SafetyVerdict[]>;
}

/** A synchronous classifier: what `audit()` can call directly. */
export interface SyncSafetyClassifier extends SafetyClassifier {
  classify(batch: readonly SafetyInput[]): readonly SafetyVerdict[];
}

/** Verdicts already computed, looked up by prompt and response text. */
export interface SafetyTable {
  readonly id: string;
  get(prompt: string, response: string): SafetyVerdict | undefined;
}

export const SAFE: SafetyVerdict = Object.freeze({ unsafe: false, score: 0, reasons: [] });

function key(prompt: string, response: string): string {
  return `${prompt.length}:${prompt}\u0000${response}`;
}

/** A table from explicit entries (tests, or verdicts loaded from a file). */
export function safetyTable(
  id: string,
  entries: Iterable<readonly [SafetyInput, SafetyVerdict]>,
): SafetyTable {
  const map = new Map<string, SafetyVerdict>();
  for (const [input, verdict] of entries) map.set(key(input.prompt, input.response), verdict);
  return { id, get: (p, r) => map.get(key(p, r)) };
}

/**
 * Runs any classifier (sync or async) over the distinct (prompt, response) pairs, in batches,
 * and returns the table the audit reads. Verdict counts must match the batch.
 */
export async function precomputeSafety(
  classifier: SafetyClassifier,
  inputs: Iterable<SafetyInput>,
  batchSize = 64,
): Promise<SafetyTable> {
  const seen = new Set<string>();
  const pending: SafetyInput[] = [];
  for (const input of inputs) {
    const k = key(input.prompt, input.response);
    if (seen.has(k)) continue;
    seen.add(k);
    pending.push(input);
  }
  const entries: [SafetyInput, SafetyVerdict][] = [];
  for (let i = 0; i < pending.length; i += batchSize) {
    const batch = pending.slice(i, i + batchSize);
    const verdicts = await classifier.classify(batch);
    if (verdicts.length !== batch.length) {
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `safety classifier ${classifier.id} returned ${verdicts.length} verdicts for ${batch.length} inputs`,
      );
    }
    batch.forEach((input, j) => {
      entries.push([input, verdicts[j]!]);
    });
  }
  return safetyTable(classifier.id, entries);
}
