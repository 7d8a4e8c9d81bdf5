/**
 * The output-time guard of `keel serve-model`: alignment alone is not a defense, so every
 * completion is checked before it leaves the server, by the safety baseline (a SafetyClassifier
 * from src/defend, the rule classifier by default) and, optionally, the Safe-RLHF cost model
 * (a reward provider whose score is a cost; > threshold = harmful). A flagged completion is
 * replaced by a refusal (finish_reason "content_filter") and the refusal is logged: reasons,
 * scores, request id and SHA-256 digests of prompt and output (the texts themselves only with
 * `logTexts`). A guard that cannot decide (the cost model failed) refuses: it fails closed.
 */
import { createHash } from "node:crypto";
import type { SafetyClassifier } from "../../defend/filters/safety.js";
import type { RewardProvider } from "../../providers/types.js";

export interface GuardOptions {
  readonly safety?: SafetyClassifier;
  readonly cost?: RewardProvider;
  /** A cost above this refuses (Safe-RLHF's convention: cost > 0 = unsafe). */
  readonly costThreshold?: number;
  /** What a refused request gets instead of the completion. */
  readonly refusal?: string;
  /** Put prompt and output texts in the refusal log (default: digests only). */
  readonly logTexts?: boolean;
  /** Receives one record per refusal. */
  readonly onRefusal: (record: RefusalRecord) => void;
}

export interface GuardVerdict {
  readonly refused: boolean;
  readonly reasons: readonly string[];
}

export interface RefusalRecord {
  readonly event: "guarded_refusal";
  readonly at: string;
  readonly request_id: string;
  readonly endpoint: string;
  readonly model: string;
  readonly reasons: readonly string[];
  readonly safety_score?: number;
  readonly cost?: number;
  readonly prompt_sha256: string;
  readonly output_sha256: string;
  readonly prompt?: string;
  readonly output?: string;
}

export const DEFAULT_REFUSAL = "I can't help with that.";

const sha = (t: string) => createHash("sha256").update(t).digest("hex");

export class OutputGuard {
  readonly refusal: string;

  constructor(private readonly o: GuardOptions) {
    this.refusal = o.refusal ?? DEFAULT_REFUSAL;
  }

  get id(): string {
    return [this.o.safety?.id, this.o.cost?.id()].filter(Boolean).join("+") || "none";
  }

  /** Checks one completion; logs and reports a refusal. */
  async check(
    ctx: { requestId: string; endpoint: string; model: string },
    prompt: string,
    output: string,
  ): Promise<GuardVerdict> {
    const reasons: string[] = [];
    let safetyScore: number | undefined;
    let cost: number | undefined;
    try {
      if (this.o.safety) {
        const [v] = await this.o.safety.classify([{ prompt, response: output }]);
        safetyScore = v?.score;
        if (!v) reasons.push(`safety baseline ${this.o.safety.id} returned no verdict`);
        else if (v.unsafe) reasons.push(`safety baseline: ${v.reasons.join("; ") || "unsafe"}`);
      }
    } catch (e) {
      reasons.push(`safety baseline failed: ${(e as Error).message}`);
    }
    if (this.o.cost) {
      const r = await this.o.cost.score([{ prompt, response: output }]);
      if (!r.ok) reasons.push(`cost model failed: ${r.error.message}`);
      else {
        cost = r.value.rewards[0];
        const t = this.o.costThreshold ?? 0;
        if (cost === undefined || !Number.isFinite(cost)) reasons.push("cost model gave no score");
        else if (cost > t) reasons.push(`cost model: ${cost.toFixed(3)} > ${t}`);
      }
    }
    if (reasons.length === 0) return { refused: false, reasons };
    this.o.onRefusal({
      event: "guarded_refusal",
      at: new Date().toISOString(),
      request_id: ctx.requestId,
      endpoint: ctx.endpoint,
      model: ctx.model,
      reasons,
      ...(safetyScore === undefined ? {} : { safety_score: safetyScore }),
      ...(cost === undefined ? {} : { cost }),
      prompt_sha256: sha(prompt),
      output_sha256: sha(output),
      ...(this.o.logTexts ? { prompt, output } : {}),
    });
    return { refused: true, reasons };
  }
}
