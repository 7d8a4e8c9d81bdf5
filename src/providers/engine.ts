/**
 * keel's own models as a generation provider: a checkpoint (with its tokenizer) answers prompts
 * through the engine's KV-cache generation (src/engine/gpt/generate.ts). Calls run one at a
 * time (the model's sessions are shared; the CPU is the limit anyway); `generateBatch` runs many
 * prompts as one engine batch per distinct set of sampling options.
 *
 * Sampling: temperature 0 is greedy; otherwise temperature / top-p / top-k sampling from
 * `Rng(seed)`, where seed is the request's or, without one, a fork of the provider's seed per
 * call, so a run repeats. Stop strings cut the text (finish "stop"). Streaming yields the
 * completion in token-sized pieces once the whole completion is decoded: the engine has no
 * per-token callback, so the first piece arrives when generation ends (documented in
 * docs/scale.md).
 */
import { basename, resolve } from "node:path";
import { z } from "zod";
import { KeelError } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
import { Rng } from "../core/rng.js";
import { generate } from "../engine/gpt/generate.js";
import type { Gpt } from "../engine/gpt/model.js";
import type { TextCodec } from "../train/common/codec.js";
import { openCheckpoint } from "../train/common/model.js";
import { checkPolicy } from "../train/common/role.js";
import { cutAtStop, renderChat } from "./chat.js";
import { Limiter } from "./http/limiter.js";
import {
  asKeelError,
  type BatchGenerationProvider,
  type Closable,
  fail,
  type Generation,
  type GenerationRequest,
  ok,
  type ProviderResult,
  requestText,
  type StreamEvent,
  type StreamingProvider,
} from "./types.js";

export const EngineConfigSchema = z.strictObject({
  /** A keel checkpoint directory (config.json, model.safetensors, tokenizer.json). */
  checkpoint: z.string().min(1),
  /** The name clients use for it (default: the directory's name). */
  model: z.string().min(1).optional(),
  max_tokens: z.number().int().positive().default(64),
  /** OpenAI's default is 1; 0 = greedy. */
  temperature: z.number().min(0).max(2).default(1),
  top_p: z.number().gt(0).max(1).optional(),
  top_k: z.number().int().positive().optional(),
  threads: z.number().int().positive().optional(),
  seed: z.number().int().default(0),
  /**
   * A prompt longer than the context leaves: `keep_end` keeps its last tokens (as keel's
   * trainers and `keel model generate` do), `refuse` fails the request (a 400 from
   * `keel serve-model`, as OpenAI's API and vLLM answer), since a cut chat loses its start,
   * system message included, without the client knowing. Absent: keep_end.
   */
  prompt_overflow: z.enum(["keep_end", "refuse"]).optional(),
});
export type EngineConfig = z.output<typeof EngineConfigSchema>;
export type EngineConfigInput = z.input<typeof EngineConfigSchema>;

export function parseEngineConfig(raw: unknown): EngineConfig {
  const r = EngineConfigSchema.safeParse(raw);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error);
    throw new KeelError("KEEL_E_CONFIG", `engine provider: ${field}: ${message}`);
  }
  return r.data;
}

interface Row {
  readonly ids: number[];
  readonly completion: number[];
  readonly finish: "stop" | "length";
}

export class EngineProvider implements StreamingProvider, BatchGenerationProvider, Closable {
  readonly model: Gpt;
  readonly codec: TextCodec;
  readonly name: string;
  private readonly limiter = new Limiter(1);
  private readonly seeds: Rng;
  private calls = 0;

  constructor(readonly config: EngineConfig) {
    checkPolicy(config.checkpoint);
    const opened = openCheckpoint(config.checkpoint, config.threads);
    this.model = opened.model;
    this.codec = opened.codec;
    this.name = config.model ?? basename(resolve(config.checkpoint));
    this.seeds = new Rng(config.seed);
  }

  id(): string {
    return `engine:${this.name}`;
  }

  /**
   * The prompt's tokens (its last context − 1 if longer, unless prompt_overflow refuses).
   * Generation stops when a sequence fills the context, so a long prompt leaves less room and
   * ends with finish "length".
   */
  private promptIds(r: GenerationRequest): number[] {
    const t = requestText(r);
    const text = t.kind === "chat" ? renderChat(t.messages) : t.prompt;
    const ids = this.codec.prompt(text);
    const room = this.model.config.context - 1;
    if (ids.length > room && this.config.prompt_overflow === "refuse")
      throw new KeelError(
        "KEEL_E_INVALID_RECORD",
        `the prompt is ${ids.length} tokens; ${this.name}'s context is ${room + 1} tokens, which must hold the prompt and at least one new token`,
        {
          where: { field: t.kind === "chat" ? "messages" : "prompt" },
          hint: `shorten the prompt to at most ${room} tokens`,
        },
      );
    return this.codec.fitPrompt(ids, room);
  }

  private maxNew(r: GenerationRequest): number {
    return Math.max(1, r.maxTokens ?? this.config.max_tokens);
  }

  /**
   * One engine batch: rows share the sampling options and the seed of the first request
   * (`generateBatch` groups requests by their options first). `ids`: the requests' prompt
   * tokens, when the caller has them already.
   */
  private async run(
    requests: readonly GenerationRequest[],
    ids: number[][] = requests.map((r) => this.promptIds(r)),
  ): Promise<Row[]> {
    const first = requests[0]!;
    const maxNew = this.maxNew(first);
    const temperature = first.temperature ?? this.config.temperature;
    const topP = first.topP ?? this.config.top_p;
    const seed = first.seed ?? this.seeds.fork(`call-${this.calls++}`).seed;
    const out = await this.limiter.run(
      () =>
        generate(this.model, ids, {
          maxNewTokens: maxNew,
          temperature,
          ...(topP === undefined ? {} : { topP }),
          ...(this.config.top_k === undefined ? {} : { topK: this.config.top_k }),
          stopTokens: [this.codec.eosId],
          // A model may have more ids than its tokenizer (model init allows it); draw only ids
          // the tokenizer can decode.
          textVocab: this.codec.vocabSize,
          seed,
          ...(this.config.threads === undefined ? {} : { threads: this.config.threads }),
        }),
      first.signal,
    );
    return ids.map((p, b) => ({
      ids: p,
      completion: out.completions[b]!,
      finish: out.finish[b]!,
    }));
  }

  private toGeneration(r: GenerationRequest, row: Row): Generation {
    const [text, stopped] = cutAtStop(this.codec.decodeResponse(row.completion), r.stop);
    const eos = row.completion.indexOf(this.codec.eosId);
    return {
      text,
      finishReason: stopped || row.finish === "stop" ? "stop" : "length",
      usage: {
        promptTokens: row.ids.length,
        completionTokens: eos < 0 ? row.completion.length : eos + 1,
      },
      model: this.name,
    };
  }

  async generate(r: GenerationRequest): Promise<ProviderResult<Generation>> {
    try {
      const [row] = await this.run([r]);
      return ok(this.toGeneration(r, row!));
    } catch (e) {
      return fail(e);
    }
  }

  async generateBatch(
    requests: readonly GenerationRequest[],
  ): Promise<readonly ProviderResult<Generation>[]> {
    if (requests.length === 0) return [];
    // A prompt the provider refuses fails alone; the others still run as one batch.
    const refused: (ProviderResult<Generation> | undefined)[] = [];
    const kept: GenerationRequest[] = [];
    const keptIds: number[][] = [];
    for (const r of requests) {
      try {
        keptIds.push(this.promptIds(r));
        kept.push(r);
        refused.push(undefined);
      } catch (e) {
        refused.push(fail<Generation>(e));
      }
    }
    if (kept.length === 0) return refused as ProviderResult<Generation>[];
    // One engine batch per set of sampling options: a request's own max_tokens, temperature and
    // top_p hold whatever the other requests ask (they were the first request's for all).
    const results: (ProviderResult<Generation> | undefined)[] = [...refused];
    const where: number[] = requests.flatMap((_, i) => (refused[i] ? [] : [i]));
    for (const group of this.byOptions(kept)) {
      try {
        const rows = await this.run(
          group.map((k) => kept[k]!),
          group.map((k) => keptIds[k]!),
        );
        group.forEach((k, g) => {
          results[where[k]!] = ok(this.toGeneration(kept[k]!, rows[g]!));
        });
      } catch (e) {
        for (const k of group) results[where[k]!] = fail(e);
      }
    }
    return results as ProviderResult<Generation>[];
  }

  /** Indexes of `requests` grouped by the sampling options one engine batch shares. */
  private byOptions(requests: readonly GenerationRequest[]): number[][] {
    const groups = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const key = [
        this.maxNew(r),
        r.temperature ?? this.config.temperature,
        r.topP ?? this.config.top_p,
      ].join("|");
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    });
    return [...groups.values()];
  }

  async *stream(r: GenerationRequest): AsyncGenerator<StreamEvent> {
    let rows: Row[];
    try {
      rows = await this.run([r]);
    } catch (e) {
      yield { type: "error", error: asKeelError(e) };
      return;
    }
    const row = rows[0]!;
    const g = this.toGeneration(r, row);
    for (const piece of this.pieces(row.completion, g.text)) yield { type: "delta", text: piece };
    yield { type: "done", finishReason: g.finishReason, usage: g.usage, model: g.model };
  }

  /**
   * `text` cut at token boundaries: the decoded prefix after each token, clamped to the final
   * text, skipping prefixes that end inside a multi-byte character (decoded as U+FFFD).
   */
  private pieces(completion: readonly number[], text: string): string[] {
    const out: string[] = [];
    let at = 0;
    for (let i = 1; i <= completion.length && at < text.length; i++) {
      const prefix = this.codec.decodeResponse(completion.slice(0, i));
      if (prefix.endsWith("\uFFFD")) continue;
      const end = Math.min(prefix.length, text.length);
      if (end > at && text.startsWith(prefix.slice(0, end))) {
        out.push(text.slice(at, end));
        at = end;
      }
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }

  async close(): Promise<void> {
    await this.model.dispose();
  }
}
