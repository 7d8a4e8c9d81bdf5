/**
 * Every provider keel can build from a config, in two explicit lists (no auto-discovery).
 * A config is `{type: <key>, …fields}`; the fields are validated by the entry (unknown fields
 * are errors) before anything is built.
 *
 *   generation:  openai   any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, hosted, keel)
 *                engine   a keel checkpoint, run by keel's engine
 *   reward:      engine   a keel reward model, ensemble or cost model directory
 *                openrlhf a remote reward model speaking OpenRLHF's /get_reward protocol
 */
import type { z } from "zod";
import { KeelError } from "../core/errors.js";
import { EngineConfigSchema, EngineProvider, parseEngineConfig } from "./engine.js";
import { OpenAiConfigSchema, OpenAiProvider, parseOpenAiConfig } from "./openai.js";
import { EngineRewardProvider } from "./reward/engine.js";
import { parseRemoteRewardConfig, RemoteRewardProvider } from "./reward/remote.js";
import type { GenerationProvider, RewardProvider } from "./types.js";

export interface ProviderEntry<P> {
  readonly key: string;
  readonly description: string;
  /** Validates `fields` (everything but `type`) and builds the provider. */
  readonly create: (fields: Record<string, unknown>) => P;
  /** Validates `fields` without building anything (no files opened, no sockets). */
  readonly validate?: (fields: Record<string, unknown>) => void;
  /**
   * The fields' schema, for a config file to read them with its lines first
   * (`provider.yaml:4: api: …`): the providers' own parsers know no file.
   */
  readonly fields?: z.ZodType;
}

export const GENERATION_PROVIDERS: readonly ProviderEntry<GenerationProvider>[] = [
  {
    key: "openai",
    description: "an OpenAI-compatible endpoint: base_url, model, api (chat|completions), api_key",
    create: (f) => new OpenAiProvider(parseOpenAiConfig(f)),
    validate: (f) => void parseOpenAiConfig(f),
    fields: OpenAiConfigSchema,
  },
  {
    key: "engine",
    description: "a keel checkpoint run by keel's engine: checkpoint, max_tokens, temperature",
    create: (f) => new EngineProvider(parseEngineConfig(f)),
    validate: (f) => void parseEngineConfig(f),
    fields: EngineConfigSchema,
  },
];

export const REWARD_PROVIDERS: readonly ProviderEntry<RewardProvider>[] = [
  {
    key: "engine",
    description: "a keel reward model, ensemble or cost model directory: dir, threads",
    create: (f) => {
      const dir = f.dir;
      const extra = Object.keys(f).filter((k) => k !== "dir" && k !== "threads");
      if (typeof dir !== "string" || dir === "" || extra.length > 0)
        throw new KeelError(
          "KEEL_E_CONFIG",
          "engine reward provider: needs dir (and optional threads)",
          {
            where: { field: extra[0] ?? "dir" },
          },
        );
      const threads = f.threads;
      if (threads !== undefined && !(Number.isInteger(threads) && (threads as number) > 0))
        throw new KeelError(
          "KEEL_E_CONFIG",
          "engine reward provider: threads must be a positive integer",
          {
            where: { field: "threads" },
          },
        );
      return new EngineRewardProvider({ dir, ...(threads ? { threads: threads as number } : {}) });
    },
  },
  {
    key: "openrlhf",
    description: "a remote reward model speaking OpenRLHF's protocol: url, timeout_ms, retries",
    create: (f) => new RemoteRewardProvider(parseRemoteRewardConfig(f)),
  },
];

function entryOf<P>(
  list: readonly ProviderEntry<P>[],
  what: string,
  type: string,
): ProviderEntry<P> {
  const entry = list.find((e) => e.key === type);
  if (!entry) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `unknown ${what} provider ${JSON.stringify(type)}; known: ${list.map((e) => e.key).join(", ")}`,
      { where: { field: "type" } },
    );
  }
  return entry;
}

function build<P>(
  list: readonly ProviderEntry<P>[],
  what: string,
  config: { readonly type: string } & Record<string, unknown>,
): P {
  const { type, ...fields } = config;
  return entryOf(list, what, type).create(fields);
}

/** Checks a generation provider's config (its type and fields) without building it. */
export function validateGenerationProvider(
  config: { readonly type: string } & Record<string, unknown>,
): void {
  const { type, ...fields } = config;
  entryOf(GENERATION_PROVIDERS, "generation", type).validate?.(fields);
}

export function createGenerationProvider(
  config: { readonly type: string } & Record<string, unknown>,
): GenerationProvider {
  return build(GENERATION_PROVIDERS, "generation", config);
}

export function createRewardProvider(
  config: { readonly type: string } & Record<string, unknown>,
): RewardProvider {
  return build(REWARD_PROVIDERS, "reward", config);
}

/** The schema of a generation provider's fields, when the registry has one for `type`. */
export function generationProviderFields(type: unknown): z.ZodType | undefined {
  return GENERATION_PROVIDERS.find((e) => e.key === type)?.fields;
}
