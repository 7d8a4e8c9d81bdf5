/**
 * The two completion endpoints: POST /v1/chat/completions and POST /v1/completions, streaming
 * (server-sent events) or not; registered in app.ts.
 */
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import { renderChat } from "../../providers/chat.js";
import {
  type ChatMessage,
  canStream,
  type FinishReason,
  type GenerationRequest,
  type Usage,
} from "../../providers/types.js";
import type { Choice, CompletionKit } from "./generate.js";
import { checkWork } from "./limits.js";
import { now, streamSse, totalUsage } from "./respond.js";
import { ChatRequest, CompletionRequest, contentText } from "./schema.js";

const newId = (p: string) => `${p}-${randomBytes(12).toString("base64url")}`;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error, { input: body, schema });
    // OpenAI's `param` names a field or is null: a fault of the body as a whole (an unknown
    // field, a body that is not an object) names none.
    throw new KeelError("KEEL_E_INVALID_RECORD", message, {
      ...(field === "(record)" ? {} : { where: { field } }),
    });
  }
  return r.data;
}

export async function chatCompletions(g: CompletionKit, req: FastifyRequest, reply: FastifyReply) {
  const { o, cap, budget, checkModel, abortOnClose, sampling, one, streamed } = g;
  const b = parse(ChatRequest, req.body);
  checkModel(b.model);
  const messages: ChatMessage[] = b.messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: contentText(m.content),
  }));
  const maxTokens = Math.min(
    cap,
    b.max_completion_tokens ?? b.max_tokens ?? o.chatMaxTokens ?? cap,
  );
  const n = b.n ?? 1;
  const id = newId("chatcmpl");
  // One timestamp for the whole completion, every chunk of a stream included, as OpenAI's.
  const created = now();
  const signal = abortOnClose(reply);
  const base = (i: number): GenerationRequest => ({
    messages,
    ...(Number.isFinite(maxTokens) ? { maxTokens } : {}),
    ...sampling(b, i, signal),
  });
  const promptText = renderChat(messages);
  if (b.stream && n > 1)
    // A 400, not a 501: clients (the openai SDK among them) retry server errors.
    throw new KeelError("KEEL_E_INVALID_RECORD", "streaming supports n = 1 only", {
      where: { field: "n" },
    });
  checkWork({ prompts: 1, n, maxTokens }, budget);
  if (b.stream) {
    const frame = (delta: object, finish: FinishReason | null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: o.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    return streamSse(
      reply,
      id,
      created,
      o.model,
      b.stream_options?.include_usage === true,
      "chat.completion.chunk",
      async function* () {
        const opening = frame({ role: "assistant", content: "" }, null);
        if (o.guard || !canStream(o.provider)) {
          const { choice, usage } = await one(req, "chat", base(0), promptText);
          yield opening;
          if (choice.text) yield frame({ content: choice.text }, null);
          yield frame({}, choice.finish);
          return usage;
        }
        return yield* streamed(
          o.provider,
          req,
          base(0),
          [opening],
          (text) => frame({ content: text }, null),
          (reason) => frame({}, reason),
        );
      },
    );
  }
  const results = [];
  for (let i = 0; i < n; i++) results.push(await one(req, "chat", base(i), promptText));
  return {
    id,
    object: "chat.completion",
    created,
    model: o.model,
    choices: results.map((r, i) => ({
      index: i,
      message: { role: "assistant", content: r.choice.text, refusal: null },
      logprobs: null,
      finish_reason: r.choice.finish,
    })),
    usage: totalUsage(
      results.map((r) => r.usage),
      n,
    ),
  };
}

export async function textCompletions(g: CompletionKit, req: FastifyRequest, reply: FastifyReply) {
  const { o, cap, budget, checkModel, abortOnClose, sampling, one, streamed } = g;
  const b = parse(CompletionRequest, req.body);
  checkModel(b.model);
  const prompts = typeof b.prompt === "string" ? [b.prompt] : b.prompt;
  const maxTokens = Math.min(cap, b.max_tokens ?? 16);
  const n = b.n ?? 1;
  const id = newId("cmpl");
  const created = now();
  const signal = abortOnClose(reply);
  const request = (p: string, i: number): GenerationRequest => ({
    prompt: p,
    ...(Number.isFinite(maxTokens) ? { maxTokens } : {}),
    ...sampling(b, i, signal),
  });
  if (b.stream && (n > 1 || prompts.length > 1))
    throw new KeelError("KEEL_E_INVALID_RECORD", "streaming supports one prompt and n = 1", {
      where: { field: "prompt" },
    });
  checkWork({ prompts: prompts.length, n, maxTokens }, budget);
  if (b.stream) {
    const frame = (text: string, finish: FinishReason | null) => ({
      id,
      object: "text_completion",
      created,
      model: o.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    });
    const p = prompts[0]!;
    return streamSse(
      reply,
      id,
      created,
      o.model,
      b.stream_options?.include_usage === true,
      "text_completion",
      async function* () {
        if (o.guard || !canStream(o.provider)) {
          const { choice, usage } = await one(req, "completions", request(p, 0), p);
          if (choice.text) yield frame(choice.text, null);
          yield frame("", choice.finish);
          return usage;
        }
        return yield* streamed(
          o.provider,
          req,
          request(p, 0),
          [],
          (text) => frame(text, null),
          (reason) => frame("", reason),
        );
      },
    );
  }
  const results: { choice: Choice; usage: Usage }[] = [];
  for (const p of prompts)
    for (let i = 0; i < n; i++) results.push(await one(req, "completions", request(p, i), p));
  return {
    id,
    object: "text_completion",
    created,
    model: o.model,
    choices: results.map((r, i) => ({
      index: i,
      text: r.choice.text,
      logprobs: null,
      finish_reason: r.choice.finish,
    })),
    usage: totalUsage(
      results.map((r) => r.usage),
      n,
    ),
  };
}
