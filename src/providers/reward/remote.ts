/**
 * A remote reward model that speaks OpenRLHF's protocol (its `--remote_rm_url`; keel's own
 * `keel serve-rm` is one): `POST <url>` with
 *
 *   {"query": [prompt + response, …], "prompts": [prompt, …], "labels": [label, …]}
 *
 * answered by {"rewards": [number, …], "scores"?: […], "extra_logs"?: {name: [number, …]}}.
 * One reward per query, in order; numeric `extra_logs` arrays come back as extras. Calls go
 * through the same timeouts, retries and concurrency limit as the OpenAI provider.
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import { aborted, Limiter } from "../http/limiter.js";
import {
  HEADER_VALUE_RULE,
  type HttpClientOptions,
  hasNoCredentials,
  isHeaderValue,
  readJsonCapped,
  send,
  URL_CREDENTIALS_RULE,
} from "../http/request.js";
import { Backoff, MAX_TIMER_MS } from "../http/retry.js";
import {
  fail,
  ok,
  type ProviderResult,
  type RewardItem,
  type RewardProvider,
  type RewardScores,
} from "../types.js";

export const RemoteRewardConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).refine(hasNoCredentials, URL_CREDENTIALS_RULE),
  api_key: z.string().min(1).refine(isHeaderValue, HEADER_VALUE_RULE).optional(),
  timeout_ms: z.number().int().positive().max(MAX_TIMER_MS).default(180_000),
  retries: z.number().int().min(0).max(20).default(4),
  base_delay_ms: z.number().int().min(0).max(MAX_TIMER_MS).default(1000),
  max_delay_ms: z.number().int().min(0).max(MAX_TIMER_MS).default(20_000),
  concurrency: z.number().int().positive().default(4),
  seed: z.number().int().default(0),
});
export type RemoteRewardConfig = z.output<typeof RemoteRewardConfigSchema>;

export function parseRemoteRewardConfig(raw: unknown): RemoteRewardConfig {
  const r = RemoteRewardConfigSchema.safeParse(raw);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error);
    throw new KeelError("KEEL_E_CONFIG", `remote reward provider: ${field}: ${message}`);
  }
  return r.data;
}

const RewardOut = z.object({
  rewards: z.array(z.number()),
  scores: z.array(z.number()).optional(),
  extra_logs: z.record(z.string(), z.unknown()).optional(),
});

export class RemoteRewardProvider implements RewardProvider {
  private readonly http: HttpClientOptions;

  constructor(readonly config: RemoteRewardConfig) {
    this.http = {
      name: this.id(),
      timeoutMs: config.timeout_ms,
      backoff: new Backoff({
        retries: config.retries,
        baseDelayMs: config.base_delay_ms,
        maxDelayMs: config.max_delay_ms,
        seed: config.seed,
      }),
      limiter: new Limiter(config.concurrency),
      ...(config.api_key ? { headers: { authorization: `Bearer ${config.api_key}` } } : {}),
    };
  }

  id(): string {
    return `openrlhf-rm:${this.config.url}`;
  }

  async score(
    items: readonly RewardItem[],
    opts: { readonly signal?: AbortSignal } = {},
  ): Promise<ProviderResult<RewardScores>> {
    if (items.length === 0) return ok({ rewards: [] });
    try {
      const body = {
        query: items.map((i) => i.prompt + i.response),
        prompts: items.map((i) => i.prompt),
        labels: items.map((i) => i.label ?? ""),
      };
      const res = await send(this.http, "POST", this.config.url, body, opts.signal);
      const p = RewardOut.safeParse(await readJsonCapped(res, this.http.name));
      if (!p.success) {
        const { field, message } = zodIssueMessage(p.error);
        throw new KeelError(
          "KEEL_E_UPSTREAM",
          `${this.id()}: unexpected answer: ${field}: ${message}`,
        );
      }
      if (p.data.rewards.length !== items.length) {
        throw new KeelError(
          "KEEL_E_UPSTREAM",
          `${this.id()}: ${p.data.rewards.length} rewards for ${items.length} queries`,
        );
      }
      const extras: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(p.data.extra_logs ?? {})) {
        // JSON has no NaN, but 1e999 parses as Infinity: such a log is dropped like a malformed one.
        if (Array.isArray(v) && v.length === items.length && v.every(Number.isFinite))
          extras[k] = v as number[];
      }
      return ok({
        rewards: p.data.rewards,
        ...(Object.keys(extras).length > 0 ? { extras } : {}),
      });
    } catch (e) {
      return fail(opts.signal?.aborted ? aborted(opts.signal) : e);
    }
  }
}
