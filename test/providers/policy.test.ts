/**
 * A provider as a red-team policy: answers in prompt order, and a failure that names the
 * provider once and the prompt it failed on.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { providerPolicy } from "../../src/providers/policy.js";
import { fail, type GenerationProvider, ok } from "../../src/providers/types.js";

const provider = (failOn: string, message: (id: string) => string): GenerationProvider => ({
  id: () => "stub:m",
  generate: async (r) =>
    r.prompt === failOn
      ? fail(new KeelError("KEEL_E_UPSTREAM", message("stub:m")))
      : ok({
          text: `<${r.prompt}>`,
          finishReason: "stop",
          usage: { promptTokens: 0, completionTokens: 0 },
          model: "m",
        }),
});

describe("providerPolicy", () => {
  it("answers in prompt order and names the provider once in a failure", async () => {
    const opts = { maxTokens: 4, temperature: 0, seed: 1, concurrency: 2 };
    const ok1 = providerPolicy(
      provider("none", () => ""),
      opts,
    );
    expect(await ok1(["a", "b", "c"])).toEqual(["<a>", "<b>", "<c>"]);
    for (const message of [
      (id: string) => `${id}: POST /v1 answered HTTP 500`,
      () => "bare failure",
    ]) {
      const p = providerPolicy(provider("b", message), opts);
      const e = await p(["a", "b"]).catch((x: unknown) => x as KeelError);
      expect(e).toBeInstanceOf(KeelError);
      const m = (e as KeelError).detail;
      expect(m.startsWith("stub:m: ")).toBe(true);
      expect(m.split("stub:m").length - 1).toBe(1);
      expect((e as KeelError).where).toMatchObject({ id: 'prompt "b"' });
    }
  });
});
