/**
 * The engine's public API: graphs and autodiff over ONNX, ONNX Runtime execution, the GPT
 * model (LM, value and reward heads), optimisation, generation, tokenizer, checkpoints.
 * See docs/engine.md for how trainers use it.
 */
export { gradients, type Seed, topoOrder } from "./autodiff.js";
export { GraphBuilder, T, type TLike } from "./builder.js";
export { writeFileAtomic } from "./checkpoint/atomic.js";
export {
  type Checkpoint,
  hasCheckpoint,
  loadCheckpoint,
  type SaveOptions,
  saveCheckpoint,
} from "./checkpoint/checkpoint.js";
export { decodeSafetensors, encodeSafetensors, type StTensor } from "./checkpoint/safetensors.js";
export {
  forwardFlopsPerToken,
  type GptConfig,
  type GptConfigInput,
  GptConfigSchema,
  paramSpecs,
  parseGptConfig,
} from "./gpt/config.js";
export { exportOnnx, exportOnnxBytes } from "./gpt/export.js";
export { type GenerateOptions, type Generation, generate } from "./gpt/generate.js";
export { type GradHead, HEADS, type Head } from "./gpt/graphs.js";
export {
  Gpt,
  type GptOptions,
  type HeadOutputs,
  padBatch,
  type TokenBatch,
  type TrainBatch,
} from "./gpt/model.js";
export {
  type Attr,
  type Dim,
  type DType,
  Graph,
  type Node,
  type Shape,
  type TensorData,
} from "./graph.js";
export { type ImportedModel, type ImportOptions, importOnnx } from "./onnx/import.js";
export { decodeModel, encodeModel } from "./onnx/proto.js";
export { OPS } from "./ops/registry.js";
export { AdamW, type AdamWOptions, l2norm, type StepInfo } from "./optim/adamw.js";
export { Ema } from "./optim/ema.js";
export { type CosineSchedule, cosineLr } from "./optim/schedule.js";
export { addScaled, type FloatArray, type ParamSpec, ParamStore } from "./params.js";
export { defaultThreads, Session, type SessionOptions, tensor } from "./runtime.js";
export { type SamplingOptions, sample, sampleToken, tokenLogprob } from "./sampling.js";
export { BpeTokenizer } from "./tokenizer/bpe.js";
export { type BpeTrainOptions, trainBpe } from "./tokenizer/train.js";
