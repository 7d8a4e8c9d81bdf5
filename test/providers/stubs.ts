/** Stub generation providers for the provider tests. */
import { type GenerationProvider, ok } from "../../src/providers/types.js";

/**
 * A provider whose answer names the seed it was asked with (as a seeded sampler's would
 * differ); each request's seed is pushed onto `seen`.
 */
export function seedEcho(seen: (number | undefined)[]): GenerationProvider {
  return {
    id: () => "stub:m",
    generate: async (r) => {
      seen.push(r.seed);
      return ok({
        text: `${r.prompt}#${r.seed}`,
        finishReason: "stop",
        usage: { promptTokens: 0, completionTokens: 0 },
        model: "m",
      });
    },
  };
}
