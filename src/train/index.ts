/**
 * keel's trainers (see docs/train.md). Each trainer takes a config (zod-validated; raw objects
 * are parsed with defaults), its data as plain arrays, and hooks ({outDir, onProgress, signal,
 * resume, threads}); it writes metrics.jsonl and checkpoints into outDir and returns
 * {status, steps, metrics, checkpoint, events, seconds}.
 *
 *   trainSft(config, {train, eval?}, hooks)                      SFT
 *   trainRewardModel(config, {train, eval?}, hooks)              Bradley–Terry reward model / ensemble
 *   trainCostModel(config, {train, eval?}, hooks)                Safe-RLHF cost model
 *   trainPpo(config, {prompts, evalPrompts?}, hooks)             PPO (+ Lagrangian mode)
 *   trainDpo(config, {train, eval?}, hooks)                      DPO family
 *   loadTextPolicy / textPolicy / loadRewardFn / RewardScorer    text-level adapters
 */
export {
  generateTexts,
  loadTextPolicy,
  type TextGenerationOptions,
  type TextPolicy,
  textPolicy,
} from "./adapters.js";
export { SPECIAL_TOKENS, TextCodec, trainTokenizer } from "./common/codec.js";
export {
  ArchSchema,
  type ConfigSource,
  ModelSourceSchema,
  OptimSchema,
  parseConfig,
  RunSchema,
} from "./common/config.js";
export { openCheckpoint, openModel } from "./common/model.js";
export type { Monitor, MonitorContext, RolloutView } from "./common/monitor.js";
export {
  checkPolicy,
  isEnsembleDir,
  policyMismatch,
  type ScorerKind,
} from "./common/role.js";
export {
  endedAs,
  FINAL_MODEL_DIR,
  type Metrics,
  type ProgressEvent,
  type RunEnd,
  readMetrics,
  type Severity,
  type TrainEvent,
  type TrainHooks,
  type TrainResult,
} from "./common/run.js";
export { heldOutCount, promptKey, splitEval } from "./common/split.js";
export {
  type DpoConfig,
  type DpoConfigInput,
  DpoConfigSchema,
  parseDpoConfig,
} from "./dpo/dpoConfig.js";
export { type DpoData, trainDpo } from "./dpo/dpoTrainer.js";
export { DPO_LOSS_TYPES, DPO_LOSSES, type DpoLossType } from "./losses/dpo.js";
export { KL_ESTIMATORS, type KlEstimator, klPerToken } from "./losses/kl.js";
export { clippedPolicyLoss, clippedValueLoss, entropyBonus } from "./losses/ppo.js";
export { LOSS_CHECKS } from "./losses/registry.js";
export { REWARD_LOSS_TYPES, REWARD_LOSSES, type RewardLossType } from "./losses/reward.js";
export type { LossResult } from "./losses/types.js";
export { gae, whiten } from "./ppo/gae.js";
export { AdaptiveKlController, FixedKlController } from "./ppo/klControl.js";
export { Lagrangian } from "./ppo/lagrangian.js";
export {
  type PpoConfig,
  type PpoConfigInput,
  PpoConfigSchema,
  parsePpoConfig,
} from "./ppo/ppoConfig.js";
export {
  evaluationNeverRuns,
  type PpoData,
  type PpoHooks,
  type RewardSource,
  trainPpo,
} from "./ppo/ppoTrainer.js";
export { PRESETS, type Preset, type PresetName, preset } from "./presets.js";
export { type CostConfig, type CostConfigInput, parseCostConfig } from "./rm/costConfig.js";
export {
  aggregateScores,
  checkScorer,
  type EnsembleScores,
  loadRewardFn,
  RewardScorer,
  scorerMismatch,
} from "./rm/ensemble.js";
export { type PairEvalMetrics, pairEvalMetrics } from "./rm/metrics.js";
export type { CostPair } from "./rm/pairs.js";
export { parseRmConfig, type RmConfig, type RmConfigInput, RmConfigSchema } from "./rm/rmConfig.js";
export { type RmData, trainCostModel, trainRewardModel } from "./rm/rmTrainer.js";
export type { SftExample } from "./sft/packing.js";
export {
  parseSftConfig,
  type SftConfig,
  type SftConfigInput,
  SftConfigSchema,
} from "./sft/sftConfig.js";
export { type SftData, trainSft } from "./sft/sftTrainer.js";
