/**
 * Text-level faces of trained models, so the pipeline and the red-team harness call them with
 * strings:
 *
 *   textPolicy(model, codec, opts)   prompts → responses (batched KV-cache generation; greedy by
 *                                    default, so evaluations are deterministic)
 *   loadTextPolicy(dir, opts)        the same from a checkpoint directory
 *   RewardScorer                     (prompts, responses) → scores, from one reward model or an
 *                                    ensemble directory (see rm/ensemble.ts), with the ensemble's
 *                                    aggregate (mean, worst case, mean − λ·std)
 *   loadRewardFn(dir)                the same as a plain function text → score
 *
 * `TextPolicy` has the shape of src/redteam's `PolicyFn`.
 */
import { Rng } from "../core/rng.js";
import { generate } from "../engine/gpt/generate.js";
import type { Gpt } from "../engine/gpt/model.js";
import type { TextCodec } from "./common/codec.js";
import { openCheckpoint } from "./common/model.js";

export type TextPolicy = (prompts: readonly string[]) => Promise<readonly string[]>;

export interface TextGenerationOptions {
  readonly maxNewTokens: number;
  /** 0 = greedy (default). */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  /** Base seed; call k of a sampling policy uses Rng(seed).fork(`call-k`). */
  readonly seed?: number;
  /** Rows per generation batch. */
  readonly batchSize?: number;
  readonly threads?: number;
}

/** Generates responses for prompt texts; each prompt keeps its last tokens if too long. */
export async function generateTexts(
  model: Gpt,
  codec: TextCodec,
  prompts: readonly string[],
  o: Omit<TextGenerationOptions, "seed"> & { seed: number | string },
): Promise<{ texts: string[]; finished: boolean[]; tokens: number }> {
  const room = model.config.context - o.maxNewTokens;
  const ids = prompts.map((p) => codec.fitPrompt(codec.prompt(p), Math.max(1, room)));
  const texts: string[] = [];
  const finished: boolean[] = [];
  let tokens = 0;
  const bs = o.batchSize ?? 64;
  for (let i = 0; i < ids.length; i += bs) {
    const out = await generate(model, ids.slice(i, i + bs), {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature ?? 0,
      ...(o.topK === undefined ? {} : { topK: o.topK }),
      ...(o.topP === undefined ? {} : { topP: o.topP }),
      stopTokens: [codec.eosId],
      seed: `${o.seed}/batch-${i / bs}`,
      ...(o.threads === undefined ? {} : { threads: o.threads }),
    });
    for (let b = 0; b < out.completions.length; b++) {
      texts.push(codec.decodeResponse(out.completions[b]!));
      finished.push(out.finish[b] === "stop");
      tokens += out.completions[b]!.length;
    }
  }
  return { texts, finished, tokens };
}

export function textPolicy(model: Gpt, codec: TextCodec, o: TextGenerationOptions): TextPolicy {
  let calls = 0;
  const base = new Rng(o.seed ?? 0);
  return async (prompts) => {
    const seed = base.fork(`call-${calls++}`).seed;
    return (await generateTexts(model, codec, prompts, { ...o, seed })).texts;
  };
}

/** A text policy over a checkpoint; `dispose` releases its sessions. */
export function loadTextPolicy(
  dir: string,
  o: TextGenerationOptions,
): { policy: TextPolicy; model: Gpt; codec: TextCodec; dispose: () => Promise<void> } {
  const { model, codec } = openCheckpoint(dir, o.threads);
  return { policy: textPolicy(model, codec, o), model, codec, dispose: () => model.dispose() };
}
