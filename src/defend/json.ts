/**
 * The audit JSON (DESIGN.md, "Audit JSON"): `raters`, `comparisons`, `groups`, `triggers` with
 * exactly the documented fields, plus extra fields where the layout leaves room — per rater
 * `judgments`, `weight`, `evidence`, `checked_by`; per comparison `p_tie`, `judgments`; per group
 * and trigger their statistics; and top-level `format`, `policy`, `summary`, `coverage` (what no
 * detector could check, and warnings), `promotions` (response words some raters choose
 * towards), `filters`, `findings`, `agreement` (the heatmap) and `config`.
 * Readers (`keel export --clean`, the HTML report, other tools) must ignore fields they do not
 * know; `parseAuditJson` does.
 */
import { z } from "zod";
import { KeelError } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
import type { AuditResult } from "./audit.js";

export const AUDIT_FORMAT = "keel-audit/1";

function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundStats(o: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) out[k] = round(v, 4);
  return out;
}

/** The audit as the JSON object `keel audit --out` writes. */
export function auditToJson(result: AuditResult): Record<string, unknown> {
  return {
    format: AUDIT_FORMAT,
    policy: result.policy,
    summary: result.summary,
    coverage: result.coverage,
    raters: result.raters.map((r) => ({
      rater_id: r.rater_id,
      reliability: r.reliability === null ? null : round(r.reliability),
      suspicion: round(r.suspicion),
      verdict: r.verdict,
      reasons: r.reasons,
      judgments: r.judgments,
      weight: round(r.weight),
      evidence: Object.fromEntries(
        Object.entries(r.evidence).map(([k, v]) => [k, roundStats(v as Record<string, number>)]),
      ),
      checked_by: r.checked_by,
    })),
    comparisons: result.comparisons.map((c) => ({
      comparison_id: c.comparison_id,
      // Unrounded: cleaning reads them, and an audit read from its file must write the rows
      // the same audit applied in memory writes (rounding made p_a 0.5 + 1e-13 a tie there only).
      p_a: c.p_a,
      weight: c.weight,
      excluded: c.excluded,
      reasons: c.reasons,
      p_tie: round(c.p_tie),
      judgments: c.judgments,
      texts: c.texts,
    })),
    groups: result.groups.map((g) => ({
      rater_ids: g.rater_ids,
      score: round(g.score, 3),
      reason: g.reason,
      agreement: round(g.agreement, 4),
      expected_agreement: round(g.expected_agreement, 4),
      co_rated: g.co_rated,
      co_rating_ratio: g.co_rating_ratio === null ? null : round(g.co_rating_ratio, 3),
    })),
    triggers: result.triggers.map((t) => ({
      pattern: t.pattern,
      score: round(t.score, 3),
      support: t.support,
      kind: t.kind,
      bad: round(t.bad, 3),
      opportunities: t.opportunities,
      rate: round(t.rate, 4),
      base_rate: round(t.base_rate, 4),
      lift: round(t.lift, 3),
    })),
    promotions: result.promotions.map((p) => ({
      pattern: p.pattern,
      score: round(p.score, 3),
      support: p.support,
      raters: p.raters,
      dispersion: round(p.dispersion, 3),
      df: p.df,
    })),
    findings: result.findings,
    filters: result.filters,
    agreement: {
      rater_ids: result.heatmap.rater_ids,
      agreement: result.heatmap.agreement.map((row) =>
        row.map((x) => (x === null ? null : round(x, 4))),
      ),
      co_rated: result.heatmap.co_rated,
    },
    config: result.config,
  };
}

const Unit = z.number().finite().min(0).max(1);

const RaterSchema = z.looseObject({
  rater_id: z.string(),
  // null: not measured (no judgment of the rater could be checked). Files written before the
  // null had 0 there for such a rater, and still read: as a measured 0, which they claimed.
  reliability: Unit.nullable(),
  suspicion: Unit,
  verdict: z.enum(["trusted", "suspect", "excluded"]),
  reasons: z.array(z.string()),
});

const ComparisonSchema = z.looseObject({
  comparison_id: z.string(),
  p_a: Unit,
  // 0..1 as documented: cleaning trains on weight · |2 p_a − 1|, and a weight of 10⁹ in an
  // edited or foreign audit file would let one comparison outweigh all the others.
  weight: Unit,
  excluded: z.boolean(),
  reasons: z.array(z.string()),
  texts: z.string().optional(),
});

export const AuditJsonSchema = z.looseObject({
  raters: z.array(RaterSchema),
  comparisons: z.array(ComparisonSchema),
  groups: z.array(
    z.looseObject({ rater_ids: z.array(z.string()), score: z.number(), reason: z.string() }),
  ),
  triggers: z.array(z.looseObject({ pattern: z.string(), score: z.number(), support: z.number() })),
});

export type AuditJson = z.infer<typeof AuditJsonSchema>;

/**
 * Refuses an audit a newer keel wrote in another layout (`format: "keel-audit/2"`), which would
 * otherwise be read as this one without a word. A file without `format` (another tool's, in
 * DESIGN.md's layout) or with a format of its own is read by the documented fields.
 */
export function checkAuditFormat(value: unknown, file?: string): void {
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format !== "string" || !format.startsWith("keel-audit/") || format === AUDIT_FORMAT)
    return;
  throw new KeelError(
    "KEEL_E_INVALID_RECORD",
    `the audit is in format ${JSON.stringify(format)}, and this keel reads ${AUDIT_FORMAT}`,
    {
      where: { ...(file !== undefined ? { file } : {}), field: "format" },
      hint: "read it with the keel that wrote it (or a newer one), or audit the judgments again with this one",
    },
  );
}

/** Validates a parsed audit JSON (the four documented arrays; extra fields are kept). */
export function parseAuditJson(value: unknown, file?: string): AuditJson {
  checkAuditFormat(value, file);
  const r = AuditJsonSchema.safeParse(value);
  if (r.success) return r.data;
  throw notAnAudit(r.error, file);
}

/** What cleaning reads of one audited comparison. */
export interface AuditedComparison {
  readonly comparison_id: string;
  readonly p_a: number;
  readonly weight: number;
  readonly excluded: boolean;
  readonly texts?: string | undefined;
}

/**
 * One entry of an audit JSON's `comparisons`, validated, as cleaning needs it (for files read
 * entry by entry: millions of comparisons pass V8's string limit as one text).
 */
export function parseAuditComparison(
  value: unknown,
  index: number,
  file?: string,
): AuditedComparison {
  const r = ComparisonSchema.safeParse(value);
  if (!r.success) throw notAnAudit(r.error, file, ["comparisons", index]);
  const c = r.data;
  return {
    comparison_id: c.comparison_id,
    p_a: c.p_a,
    weight: c.weight,
    excluded: c.excluded,
    ...(c.texts !== undefined ? { texts: c.texts } : {}),
  };
}

function notAnAudit(error: z.ZodError, file?: string, prefix: readonly PropertyKey[] = []) {
  const { field, message } = zodIssueMessage(error);
  const at = [...prefix.map(String), ...(field === "(record)" ? [] : [field])].join(".");
  return new KeelError("KEEL_E_INVALID_RECORD", `not an audit JSON: ${message}`, {
    where: { ...(file !== undefined ? { file } : {}), field: at === "" ? field : at },
    hint: "write one with keel audit --out audit.json",
  });
}
