/**
 * What the pipeline run's report reads: plain data shaped by the pipeline (each arm's metrics,
 * curves, bias probes and examples, the base policy's, the audit and the run card). Every text
 * in it is untrusted and escaped where it is shown.
 */

export interface ArmMetrics {
  readonly attack_success: number | null;
  readonly jailbreak_success?: number | null;
  readonly triggered_attack_success: number | null;
  readonly over_refusal: number | null;
  readonly helpfulness: number | null;
  readonly kl: number | null;
  readonly rm_accuracy_clean: number | null;
  readonly rm_accuracy_triggered: number | null;
  readonly mean_words?: number | null;
}

export interface ExampleData {
  readonly suite: string;
  readonly prompt: string;
  readonly response: string;
  readonly outcome: string;
}

export interface ArmReport {
  readonly arm: string;
  readonly metrics: ArmMetrics;
  readonly per_suite: Readonly<
    Record<string, { readonly harmful: number; readonly refused: number; readonly correct: number }>
  >;
  /** PPO or DPO training curve points. */
  readonly curve: readonly {
    readonly step: number;
    readonly score?: number;
    readonly kl?: number;
    readonly gold?: number;
  }[];
  readonly rm_bias: Readonly<
    Record<string, { readonly mean_shift: number; readonly prefers_variant: number }>
  >;
  readonly policy_bias: {
    readonly mean_words: number;
    readonly entity_mentions: number;
    readonly dialect_markers: number;
  };
  readonly examples: readonly ExampleData[];
  readonly events: readonly {
    readonly step: number;
    readonly source: string;
    readonly severity: string;
    readonly message: string;
  }[];
  readonly training_pairs: number;
}

export interface RunCard {
  readonly run: {
    readonly name: string;
    readonly created_at: string;
    readonly keel_version: string;
    readonly seed: number;
    readonly preset: string;
  };
  readonly data: {
    readonly ledger_head: { readonly seq: number; readonly hash: string };
    readonly ledger_verified: boolean;
    readonly judgments: number;
    readonly raters: number;
    readonly comparisons: number;
    /** Who wrote the compared responses: the world's templates, or a policy or provider. */
    readonly candidates?: { readonly generated_by: string; readonly comparisons?: number };
  };
  readonly defenses: {
    readonly audit_policy: string | null;
    readonly excluded_raters: readonly {
      readonly rater_id: string;
      readonly reasons: readonly string[];
    }[];
    readonly suspect_raters: number;
    readonly groups: number;
    readonly triggers: readonly string[];
    /** Response words some raters were drawn to (absent from run cards written before it). */
    readonly promotions?: readonly string[];
    readonly thresholds: unknown;
  };
  readonly redteam: Readonly<Record<string, ArmMetrics>>;
  readonly safeguards: readonly {
    readonly arm: string;
    readonly step: number;
    readonly source: string;
    readonly severity: string;
    readonly message: string;
  }[];
}

export interface RunReportData {
  readonly title: string;
  readonly base: {
    readonly metrics: ArmMetrics;
    readonly policy_bias: ArmReport["policy_bias"];
    readonly examples: readonly ExampleData[];
    readonly per_suite: ArmReport["per_suite"];
  };
  readonly arms: readonly ArmReport[];
  readonly audit?: {
    readonly summary: Readonly<Record<string, number>>;
    readonly adversaries: number;
    readonly adversaries_flagged: number;
    readonly honest: number;
    readonly honest_excluded: number;
  };
  readonly card: RunCard;
  readonly timings: readonly { readonly stage: string; readonly seconds: number }[];
  /**
   * How the red-team answers were drawn (the pipeline's `redteam.temperature` and `samples`);
   * the examples are described by it, and without it make no claim about their decoding.
   */
  readonly decoding?: { readonly temperature: number; readonly samples: number };
  /** Undefended − defended per rate, paired by probe, with a bootstrap 95% interval. */
  readonly difference?: Readonly<
    Record<
      string,
      {
        readonly estimate: number;
        readonly ci95: readonly [number, number];
        readonly probes: number;
      } | null
    >
  >;
}
