/**
 * The cleaned, weighted preference set (what `keel export --clean` writes): one preference row
 * per comparison, from an audit.
 *
 *   chosen  = response a if p_a > ½, b if p_a < ½ (p_a = ½ and excluded comparisons are skipped)
 *   weight  = audit weight · |2 p_a − 1|
 *
 * |2p − 1| is the weight at which a hard label's loss gradient equals the soft label's at the
 * start of training (σ(0) − p = −(2p − 1)·½), so a row's weight carries both the trust in the
 * comparison and the certainty of its preference.
 */
import { sha256Hex } from "../core/digest.js";
import { KeelError } from "../core/errors.js";
import { contentToText, type Judgment } from "../core/types.js";

/**
 * A short digest of a comparison's texts as the audit read them (prompt, response a, response
 * b, flattened to text), recorded in the audit JSON so that an audit applied to other data —
 * another world or store whose comparison ids repeat this one's — is refused, not applied to
 * texts it never saw. 64 bits: a guard against mix-ups, not against forgery.
 */
export function textsDigest(prompt: string, a: string, b: string): string {
  return sha256Hex(JSON.stringify([prompt, a, b])).slice(0, 16);
}

/**
 * Refuses a comparison whose p_a or weight is not a number in 0..1 (docs/defend.md, "Weights").
 * Every row weight comes from these two, weight · |2 p_a − 1|: a weight of 10⁹ from an edited or
 * foreign audit file would make one pair outweigh the whole training set, and a NaN (an object
 * built in code; JSON cannot hold one) would train as NaN, or choose side b since NaN > ½ is
 * false.
 */
function checkTrainable(
  c: { readonly comparison_id: string; readonly p_a: number; readonly weight: number },
  file: string | undefined,
): void {
  for (const field of ["p_a", "weight"] as const) {
    const v = c[field];
    if (typeof v === "number" && v >= 0 && v <= 1) continue;
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      `comparison ${JSON.stringify(c.comparison_id)} has ${field} ${String(v)}; an audit's ${field} is a number in 0..1`,
      {
        where: { ...(file !== undefined ? { file } : {}), id: c.comparison_id, field },
        hint: "audit the judgments again (keel audit --out audit.json) and clean with that audit",
      },
    );
  }
}

export class CleanPlan {
  private readonly seen = new Set<string>();
  readonly byId: ReadonlyMap<
    string,
    {
      readonly p_a: number;
      readonly weight: number;
      readonly excluded: boolean;
      readonly texts?: string | undefined;
    }
  >;
  constructor(
    comparisons: readonly {
      comparison_id: string;
      p_a: number;
      weight: number;
      excluded: boolean;
      /** `textsDigest` of the comparison the audit read (absent in older audit files). */
      texts?: string | undefined;
    }[],
    /** Where the plan came from, for the refusal's message. */
    private readonly source?: string,
  ) {
    for (const c of comparisons) checkTrainable(c, source);
    this.byId = new Map(comparisons.map((c) => [c.comparison_id, c]));
  }
  /** The comparison's cleaned preference as a judgment, for its first judgment only. */
  choose(j: Judgment): Judgment | undefined {
    if (this.seen.has(j.comparison_id)) return undefined;
    this.seen.add(j.comparison_id);
    const c = this.byId.get(j.comparison_id);
    if (c?.texts !== undefined) {
      const here = textsDigest(
        contentToText(j.prompt),
        contentToText(j.response_a),
        contentToText(j.response_b),
      );
      if (here !== c.texts)
        throw new KeelError(
          "KEEL_E_CONFLICT",
          `comparison ${JSON.stringify(j.comparison_id)} has other texts than the audit read: the audit was made on other data`,
          {
            ...(this.source !== undefined ? { where: { file: this.source } } : {}),
            hint: "audit this store (keel audit --db …) and export with that audit, or with --clean alone",
          },
        );
    }
    if (!c || c.excluded || c.weight <= 0 || c.p_a === 0.5) return undefined;
    return { ...j, rater_id: "keel-audit", choice: c.p_a > 0.5 ? "a" : "b" };
  }
  /**
   * The chosen response's margin over the rejected one: the log-odds of the audit's preference,
   * log(p / (1 − p)) with p = max(p_a, 1 − p_a) clipped to [0.01, 0.99] (at most 4.6). Keel's
   * soft-label loss fits σ(r_A − r_B) to p_a, so this is the reward difference that p_a implies.
   */
  marginOf(j: Judgment): number | undefined {
    const c = this.byId.get(j.comparison_id);
    if (!c) return undefined;
    const p = Math.min(0.99, Math.max(0.01, Math.max(c.p_a, 1 - c.p_a)));
    return Math.log(p / (1 - p));
  }

  weightOf(j: Judgment): number | undefined {
    const c = this.byId.get(j.comparison_id);
    return c ? c.weight * Math.abs(2 * c.p_a - 1) : undefined;
  }
}
