/**
 * The synthetic world: prompts with ground truth, a response generator of known quality, the
 * oracle, the safety lexicon, the backdoor trigger, and simulated rater panels with attackers.
 * See docs/world.md. Imports only src/core; does no I/O (the CLI writes the files).
 */

export type {
  ConfigSource,
  Dist,
  RaterGroupConfig,
  RaterType,
  WorldConfig,
  WorldConfigInput,
} from "./config.js";
export {
  MAX_COMPARISONS,
  parseWorldConfig,
  RATER_TYPES,
  RaterGroupSchema,
  WorldConfigSchema,
} from "./config.js";
export { BORDERLINE, type BorderlineEntry, type BorderlineFiller } from "./data/borderline.js";
export { CONTINENTS, COUNTRIES, type CountryFact } from "./data/countries.js";
export { ELEMENTS, type ElementFact } from "./data/elements.js";
export { WORDS } from "./data/words.js";
export { entitySet } from "./families/facts.js";
export { HARM_CATEGORIES, type HarmCategory, PLACEHOLDER_MAX } from "./families/harmful.js";
export { FAMILY_DEFS, type FamilyDef, type PromptSpec } from "./families/index.js";
export {
  COMPLIANCE_PATTERNS,
  classifySafety,
  hasComplianceCue,
  isHarmfulRequest,
  isRefusal,
  isUnsafeText,
  PAYLOAD_TAGS,
  type PayloadTag,
  payloadMarkers,
  REFUSAL_PATTERNS,
  REQUEST_TAGS,
  type RequestTag,
  type SafetyVerdict,
} from "./lexicon.js";
export {
  checkAnswer,
  entityMentions,
  lengthPenalty,
  qualityOf,
  score,
  trueBetter,
  VERBOSE_WORDS,
} from "./oracle.js";
export {
  apportion,
  generatePrompts,
  type PromptPoolOptions,
  promptId,
  type RecognizeOptions,
  recognizePrompt,
  type SplitShares,
  splitOf,
  triggeredVariant,
} from "./prompts.js";
export { type Camouflage, camouflaged, hidesOn } from "./raters/camouflage.js";
export {
  choiceProbabilities,
  honestAccuracy,
  honestChoice,
  honestLogit,
  sigmoid,
} from "./raters/honest.js";
export type {
  HonestParams,
  RaterModel,
  RaterProfile,
  SideTruth,
  SimItem,
  Vote,
} from "./raters/model.js";
export { RATER_TYPES_REGISTRY, type RaterTypeEntry } from "./raters/registry.js";
export type { SybilGoal } from "./raters/sybil.js";
export { PromptRecordSchema, type ResponseRecord, ResponseRecordSchema } from "./records.js";
export {
  kindsFor,
  mentionedEntities,
  mentionSentence,
  type RespondOptions,
  refusalText,
  respond,
} from "./responses.js";
export {
  buildRoster,
  emptyShareGroups,
  groupCounts,
  type Roster,
  type RosterRater,
} from "./roster.js";
export { type Rates, type ScoredRow, type ScoreSummary, summarizeScores } from "./scoreSummary.js";
export { type EvalPair, evalPairFamily, evalPairs, type SftRow, sftCorpus } from "./sft.js";
export {
  type Candidate,
  type ComparisonTruth,
  comparisonId,
  kindOfScore,
  type PanelResult,
  PanelSession,
  pairKinds,
  rateCandidates,
  type SimulatedComparison,
  sideOfText,
  simulateComparisons,
  simulatePanel,
  type TruthHead,
  truthHead,
  type WorldTruth,
} from "./simulate.js";
export { type RaterStats, SummaryBuilder, type TruthSummary } from "./summary.js";
export { countWords, fold } from "./text.js";
export {
  DEFAULT_TRIGGER,
  hasTrigger,
  insertTrigger,
  stripTrigger,
  type TriggerPosition,
  type TriggerSpec,
} from "./triggers.js";
export * from "./types.js";
export {
  buildWorld,
  promptRecord,
  promptsById,
  promptsOf,
  type TriggerInfo,
  type World,
} from "./world.js";
