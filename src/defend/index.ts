/**
 * keel's defenses: rater detectors, collusion groups, trigger scan, validation filters and the
 * `audit()` that composes them into verdicts and weights. Pure functions over judgments; see
 * docs/defend.md.
 */
export {
  type AgreementMatrix,
  type AuditFilters,
  type AuditInput,
  type AuditOptions,
  type AuditResult,
  type AuditSummary,
  audit,
  type ComparisonAudit,
  type GroupAudit,
  type RaterAudit,
  type TriggerAudit,
} from "./audit.js";
export { CleanPlan } from "./clean.js";
export type { CohortFinding } from "./cohorts.js";
export {
  type AuditConfig,
  POLICIES,
  POLICY_PRESETS,
  type Policy,
  resolveAuditConfig,
} from "./config.js";
export type { AuditCoverage, CoverageSummary } from "./coverage.js";
export { AuditDataBuilder, type AuditJudgment } from "./data.js";
export type { Verdict } from "./decision.js";
export { DEFAULT_RULES, foldText, type RuleSet, ruleClassifier } from "./filters/lexicon.js";
export {
  type JsonPost,
  type ModerationOptions,
  moderationClassifier,
  moderationUrl,
} from "./filters/moderation.js";
export {
  type OnnxClassifierOptions,
  type OnnxRunner,
  type OnnxTensorIn,
  type OnnxTensorOut,
  onnxClassifier,
} from "./filters/onnx.js";
export {
  precomputeSafety,
  SAFE,
  type SafetyClassifier,
  type SafetyInput,
  type SafetyTable,
  type SafetyVerdict,
  type SyncSafetyClassifier,
  safetyTable,
} from "./filters/safety.js";
export {
  AUDIT_FORMAT,
  type AuditJson,
  AuditJsonSchema,
  auditToJson,
  parseAuditComparison,
  parseAuditJson,
} from "./json.js";
export { SIGNAL_KEYS, type SignalKey } from "./signals/signal.js";
