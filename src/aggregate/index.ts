/**
 * keel's aggregation library: crowd algorithms over encoded label arrays, preference posteriors
 * and agreement metrics. Pure functions: arrays in, typed results out.
 */

export { type CohenPair, cohenKappaPairs } from "./agreement/cohen.js";
export { firstLabels } from "./agreement/counts.js";
export { type FleissResult, fleissKappa } from "./agreement/fleiss.js";
export { type KrippendorffResult, krippendorffAlpha } from "./agreement/krippendorff.js";
export { type LooConsensusResult, looConsensusAgreement } from "./agreement/loo-consensus.js";
export { type DawidSkeneOptions, dawidSkene } from "./categorical/dawid-skene.js";
export { type GladOptions, type GladResult, glad } from "./categorical/glad.js";
export { type MaceOptions, mace } from "./categorical/mace.js";
export { type MajorityVoteOptions, majorityVote } from "./categorical/majority-vote.js";
export { type MmsrOptions, mmsr } from "./categorical/mmsr.js";
export { type OneCoinOptions, oneCoinDawidSkene } from "./categorical/one-coin-dawid-skene.js";
export { agreementWithLabels } from "./categorical/result.js";
export { wawa } from "./categorical/wawa.js";
export {
  CategoricalEncoder,
  compareClassNames,
  encodeCategorical,
  encodePairwise,
  PairwiseEncoder,
} from "./encode.js";
export { categoricalToJson, pairwiseToJson } from "./json.js";
export {
  type ComparisonItems,
  encodeJudgments,
  type JudgmentData,
  JudgmentEncoder,
  type JudgmentWithoutTexts,
} from "./judgments.js";
export { type BradleyTerryOptions, bradleyTerry } from "./pairwise/bradley-terry.js";
export { bradleyTerryIlsr, type IlsrOptions } from "./pairwise/bradley-terry-ilsr.js";
export { type CrowdBtOptions, crowdBradleyTerry } from "./pairwise/crowd-bt.js";
export { stronglyConnectedComponents } from "./pairwise/graph.js";
export { type NoisyBtOptions, noisyBradleyTerry } from "./pairwise/noisy-bt.js";
export {
  type ChoiceNames,
  type ComparisonPosteriors,
  posteriorsFromCategorical,
  posteriorsFromPairwise,
} from "./posteriors.js";
export {
  AGGREGATION_METHODS,
  type AggregationMethod,
  type CategoricalMethod,
  getAggregationMethod,
  type PairwiseMethod,
} from "./registry.js";
export * from "./types.js";
