/**
 * What the completion endpoints share: the model check, one guarded generation, a provider's
 * stream as frames, the sampling options of a request, and the abort of a generation whose
 * client went away.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { KeelError } from "../../core/errors.js";
import { DEFAULT_MAX_REQUEST_TOKENS } from "../../core/serving-limits.js";
import type {
  FinishReason,
  GenerationRequest,
  StreamingProvider,
  Usage,
} from "../../providers/types.js";
import type { ModelAppOptions } from "./app.js";
import type { ChatRequest, CompletionRequest } from "./schema.js";
import { asClientError } from "./upstream.js";

export interface Choice {
  readonly text: string;
  readonly finish: FinishReason;
}

export type CompletionKit = ReturnType<typeof completionKit>;

export function completionKit(o: ModelAppOptions) {
  const cap = o.maxTokens ?? Number.POSITIVE_INFINITY;
  const budget = o.maxRequestTokens ?? DEFAULT_MAX_REQUEST_TOKENS;

  const checkModel = (m: string) => {
    if (m !== o.model)
      throw new KeelError(
        "KEEL_E_NOT_FOUND",
        `the model ${JSON.stringify(m)} does not exist; this server has ${JSON.stringify(o.model)}`,
        {
          where: { field: "model" },
        },
      );
  };

  /** The provider's error as the client sees it; the log keeps what the provider said. */
  const failed = (req: FastifyRequest, e: KeelError): KeelError => {
    const c = asClientError(e, o.provider, o.model);
    if (c !== e) req.log.info({ err: e }, "the upstream refused the request");
    return c;
  };

  /**
   * A provider's stream as frames: nothing is yielded before the provider's first event, so a
   * request it refuses at once gets a plain error (see streamSse); `opening` frames (chat's role
   * frame) go before its first text.
   */
  async function* streamed(
    provider: StreamingProvider,
    req: FastifyRequest,
    g: GenerationRequest,
    opening: readonly object[],
    delta: (text: string) => object,
    finish: (reason: FinishReason) => object,
  ): AsyncGenerator<object, Usage, void> {
    let started = false;
    for await (const ev of provider.stream(g)) {
      if (ev.type === "error") throw failed(req, ev.error);
      if (!started) {
        started = true;
        yield* opening;
      }
      if (ev.type === "delta") yield delta(ev.text);
      else {
        yield finish(ev.finishReason);
        return ev.usage;
      }
    }
    throw new KeelError("KEEL_E_UPSTREAM", "the provider's stream ended without a finish");
  }

  /** Generates one choice (checked by the guard); throws the provider's error. */
  const one = async (
    req: FastifyRequest,
    endpoint: string,
    g: GenerationRequest,
    promptText: string,
  ): Promise<{ choice: Choice; usage: Usage }> => {
    const r = await o.provider.generate(g);
    if (!r.ok) throw failed(req, r.error);
    let choice: Choice = { text: r.value.text, finish: r.value.finishReason };
    if (o.guard) {
      const v = await o.guard.check(
        { requestId: req.id, endpoint, model: o.model },
        promptText,
        r.value.text,
      );
      if (v.refused) choice = { text: o.guard.refusal, finish: "content_filter" };
    }
    return { choice, usage: r.value.usage };
  };

  const sampling = (
    b: ChatRequest | CompletionRequest,
    i: number,
    signal: AbortSignal,
  ): Pick<GenerationRequest, "temperature" | "topP" | "stop" | "seed" | "signal"> => ({
    ...(b.temperature == null ? {} : { temperature: b.temperature }),
    ...(b.top_p == null ? {} : { topP: b.top_p }),
    ...(b.stop == null ? {} : { stop: typeof b.stop === "string" ? [b.stop] : b.stop }),
    ...(b.seed == null ? {} : { seed: b.seed + i }),
    signal,
  });

  /** Aborts the generation when the client goes away before the answer is complete. */
  const abortOnClose = (reply: FastifyReply): AbortSignal => {
    const ac = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) ac.abort("client closed the connection");
    });
    return ac.signal;
  };

  return { o, cap, budget, checkModel, streamed, one, sampling, abortOnClose };
}
