/**
 * What a client of `keel serve-model --upstream` learns when the upstream server fails its
 * request. An upstream that refuses the request itself (400, 413, 422: a prompt longer than the
 * model's context, a field it rejects) has answered the client's question, and the client must
 * hear the reason and not retry: it gets a 4xx with the upstream's own message, as vLLM's
 * clients would. Everything else the upstream answers (5xx, timeouts, and 401/403/404, which
 * mean this server's key or upstream model name is wrong) is this server's problem and stays a
 * 502 with a generic message (respond.ts).
 *
 * The message the client gets is only what the upstream said, with the upstream's model name
 * replaced by the served one and its address removed: the provider's error names the upstream
 * URL, and this server may hide the upstream behind --model. (The upstream's echo of the API
 * key was already scrubbed by the HTTP client.)
 */
import { KeelError } from "../../core/errors.js";
import { upstreamFailure } from "../../providers/http/request.js";
import { OpenAiProvider } from "../../providers/openai.js";
import type { GenerationProvider } from "../../providers/types.js";

const REFUSALS: Readonly<Record<number, "KEEL_E_INVALID_RECORD" | "KEEL_E_TOO_LARGE">> = {
  400: "KEEL_E_INVALID_RECORD",
  413: "KEEL_E_TOO_LARGE",
  422: "KEEL_E_INVALID_RECORD",
};

/**
 * `e` as the client should see it: an upstream's refusal of the request as a 4xx carrying the
 * upstream's message; any other error unchanged.
 */
export function asClientError(
  e: KeelError,
  provider: GenerationProvider,
  servedModel: string,
): KeelError {
  const f = e.code === "KEEL_E_UPSTREAM" ? upstreamFailure(e) : undefined;
  const code = f ? REFUSALS[f.status] : undefined;
  if (!f || !code) return e;
  let said = f.message ?? "";
  if (provider instanceof OpenAiProvider) {
    const { model, base_url } = provider.config;
    const u = new URL(base_url);
    for (const where of [base_url.replace(/\/+$/, ""), u.origin, u.host])
      said = said.replaceAll(where, "the upstream");
    if (model !== servedModel) said = said.replaceAll(model, servedModel);
  }
  return new KeelError(
    code,
    said ? `the model refused the request: ${said}` : "the model refused the request",
    // The field the upstream named becomes the answer's `param`, as it would have been there.
    { cause: e, ...(f.param ? { where: { field: f.param } } : {}) },
  );
}
