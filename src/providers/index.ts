/**
 * Generation and reward providers (see types.ts for the contract, registry.ts for the list).
 *
 *   const p = createGenerationProvider({ type: "openai", base_url: "http://127.0.0.1:8000/v1", model: "m" });
 *   const r = await p.generate({ prompt: "2+2=", maxTokens: 8 });
 *   if (r.ok) console.log(r.value.text); else console.error(r.error.message);
 */
export { cutAtStop, renderChat } from "./chat.js";
export {
  type EngineConfig,
  type EngineConfigInput,
  EngineConfigSchema,
  EngineProvider,
  parseEngineConfig,
} from "./engine.js";
export { Limiter } from "./http/limiter.js";
export { Backoff, parseRetryAfter, type RetryPolicy } from "./http/retry.js";
export { sseData } from "./http/sse.js";
export {
  type OpenAiConfig,
  type OpenAiConfigInput,
  OpenAiConfigSchema,
  OpenAiProvider,
  parseOpenAiConfig,
} from "./openai.js";
export {
  createGenerationProvider,
  createRewardProvider,
  GENERATION_PROVIDERS,
  type ProviderEntry,
  REWARD_PROVIDERS,
} from "./registry.js";
export { type EngineRewardOptions, EngineRewardProvider } from "./reward/engine.js";
export {
  parseRemoteRewardConfig,
  type RemoteRewardConfig,
  RemoteRewardConfigSchema,
  RemoteRewardProvider,
} from "./reward/remote.js";
export * from "./types.js";
