/**
 * The generate stage: candidate responses written by a policy or a provider instead of the
 * world's response templates. For each comparison the world drew (its prompt, triggered ones
 * included) the generator writes two responses; the world's simulated panel then rates them —
 * each side scored by the oracle, the raters voting as they vote on the world's own responses.
 *
 * Writes, in generate/:
 *   candidates.jsonl  {comparison_id, prompt, response_a, response_b} — the rater web app's item
 *                     format (`keel project create --items`), for people to rate instead
 *   judgments.jsonl   the simulated panel's judgments of them (what `collect: panel` imports)
 *   truth.json        the panel's truth for them, in world/truth.json's format
 */
import { mkdir, readFile } from "node:fs/promises";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { MAX_TEXT_CHARS } from "../../core/schemas.js";
import { describeFsError, TextSink } from "../../io/files.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { EngineProvider } from "../../providers/engine.js";
import { createGenerationProvider } from "../../providers/registry.js";
import {
  canBatch,
  type Generation,
  type GenerationProvider,
  type GenerationRequest,
  isClosable,
  type ProviderResult,
} from "../../providers/types.js";
import {
  buildWorld,
  type Candidate,
  rateCandidates,
  SummaryBuilder,
  truthHead,
  type World,
  type WorldPrompt,
} from "../../world/index.js";
import type { PipelineConfig } from "../config.js";
import type { Plan } from "../plan.js";
import type { Stage } from "../runner.js";

export const GENERATE_FILES = [
  "generate/candidates.jsonl",
  "generate/judgments.jsonl",
  "generate/truth.json",
] as const;

/** The files of the judgments the simulated panel made and their truth, for this config. */
export function panelFiles(c: PipelineConfig): { judgments: string; truth: string } {
  return c.generate.from === "world"
    ? { judgments: "world/judgments.jsonl", truth: "world/truth.json" }
    : { judgments: "generate/judgments.jsonl", truth: "generate/truth.json" };
}

interface Slot {
  readonly comparison_id: string;
  readonly prompt: WorldPrompt;
}

/** The world's comparisons (id and prompt, in order) from its truth.json. */
async function worldComparisons(world: World, truthPath: string): Promise<Slot[]> {
  const truth = JSON.parse(await readFile(truthPath, "utf8")) as {
    comparisons: { comparison_id: string; prompt_id: string }[];
  };
  const byId = new Map<string, WorldPrompt>();
  for (const p of [...world.prompts, ...world.triggered]) byId.set(p.id, p);
  return truth.comparisons.map((c) => {
    const prompt = byId.get(c.prompt_id);
    if (prompt === undefined) {
      throw new KeelError("KEEL_E_NOT_FOUND", `no world prompt has id ${c.prompt_id}`, {
        where: { file: truthPath, id: c.comparison_id, field: "prompt_id" },
      });
    }
    return { comparison_id: c.comparison_id, prompt };
  });
}

/**
 * Model output made storable: judgments refuse NUL characters (a byte-level tokenizer can
 * decode one) and texts over MAX_TEXT_CHARS. Returns the text and whether it was changed.
 */
export function storableText(text: string): { text: string; changed: boolean } {
  let t = text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
  if (t.length > MAX_TEXT_CHARS) t = t.slice(0, MAX_TEXT_CHARS);
  return { text: t, changed: t !== text };
}

/** A generation's text, or the provider's error naming the comparison and the side. */
function textOf(r: ProviderResult<Generation>, slot: Slot, side: "a" | "b", by: string): string {
  if (r.ok) return r.value.text;
  throw new KeelError(
    r.error.code,
    `${by} failed on comparison ${slot.comparison_id} (response ${side}): ${r.error.message}`,
    { where: { id: slot.comparison_id }, cause: r.error },
  );
}

/** `f` over `items` with at most `n` calls in flight; results in item order. */
async function inPool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * Two responses per slot, in slot order, `batch` slots at a time: one engine batch for a
 * batching provider, else `concurrency` calls in flight. Requests carry seeds drawn from `rng`,
 * so a provider that honours seeds repeats the run.
 */
async function* candidates(
  provider: GenerationProvider,
  slots: readonly Slot[],
  o: {
    maxTokens: number;
    temperature: number;
    batch: number;
    concurrency: number;
    rng: Rng;
    signal: AbortSignal;
    onBatch: (done: number) => void;
  },
): AsyncGenerator<Candidate & { prompt: string }> {
  const by = provider.id();
  for (let at = 0; at < slots.length; at += o.batch) {
    if (o.signal.aborted) throw o.signal.reason;
    const chunk = slots.slice(at, at + o.batch);
    const requests: GenerationRequest[] = chunk.flatMap((s) =>
      [0, 1].map(() => ({
        prompt: s.prompt.content,
        maxTokens: o.maxTokens,
        temperature: o.temperature,
        seed: o.rng.int(2 ** 31 - 1),
        signal: o.signal,
      })),
    );
    const results = canBatch(provider)
      ? await provider.generateBatch(requests)
      : await inPool(requests, o.concurrency, (r) => provider.generate(r));
    for (const [k, s] of chunk.entries()) {
      yield {
        comparison_id: s.comparison_id,
        prompt_id: s.prompt.id,
        prompt: s.prompt.content,
        response_a: textOf(results[2 * k]!, s, "a", by),
        response_b: textOf(results[2 * k + 1]!, s, "b", by),
      };
    }
    o.onBatch(Math.min(at + o.batch, slots.length));
  }
}

/** The base policy run by the engine, or the configured provider (validated by the plan). */
function providerOf(plan: Plan): GenerationProvider {
  const g = plan.config.generate;
  if (g.from === "policy") {
    return new EngineProvider({
      checkpoint: plan.baseModel,
      max_tokens: plan.generate.maxNewTokens,
      temperature: g.temperature,
      seed: plan.config.seed,
    });
  }
  return createGenerationProvider(g.provider as { type: string } & Record<string, unknown>);
}

/** The generate stage (only in runs whose candidates are not the world's own). */
export function generateStage(plan: Plan): Stage {
  const g = plan.config.generate;
  const from = g.from === "policy" ? "the base policy" : `the ${g.provider?.type} provider`;
  return {
    key: "generate",
    title: `generate: two candidate responses per comparison from ${from}, rated by the panel`,
    weight: 4,
    config: { generate: g, max_new_tokens: plan.generate.maxNewTokens },
    after: g.from === "policy" ? ["world", "base"] : ["world"],
    outputs: GENERATE_FILES,
    async run(ctx) {
      await mkdir(ctx.run.file("generate"), { recursive: true }).catch((e: unknown) => {
        throw new KeelError("KEEL_E_FILE", `cannot create directory: ${describeFsError(e)}`, {
          where: { file: ctx.run.file("generate") },
        });
      });
      const world = buildWorld(plan.world);
      const slots = await worldComparisons(world, ctx.run.file("world/truth.json"));
      const provider = providerOf(plan);
      const items = new JsonlWriter(ctx.run.file("generate/candidates.jsonl"));
      const judgments = new JsonlWriter(ctx.run.file("generate/judgments.jsonl"));
      const truth = new TextSink(ctx.run.file("generate/truth.json"));
      const summary = new SummaryBuilder(world.roster.raters.map((r) => r.profile));
      const kinds: Record<string, number> = {};
      let n = 0;
      let altered = 0;
      let s: ReturnType<SummaryBuilder["finish"]> | undefined;
      try {
        const head = truthHead(world);
        await truth.write(`{"format":${JSON.stringify(head.format)},`);
        await truth.write(`"seed":${JSON.stringify(head.seed)},`);
        await truth.write(`"config":${JSON.stringify(head.config)},`);
        await truth.write(`"trigger":${JSON.stringify(head.trigger)},`);
        await truth.write(`"entities":${JSON.stringify(head.entities)},\n"raters":[\n`);
        await truth.write(`${head.raters.map((r) => JSON.stringify(r)).join(",\n")}\n],\n`);
        await truth.write(`"generated_by":${JSON.stringify(provider.id())},\n"comparisons":[\n`);
        const written = candidates(provider, slots, {
          maxTokens: plan.generate.maxNewTokens,
          temperature: g.temperature,
          batch: g.batch_size,
          concurrency: g.concurrency,
          rng: new Rng(plan.config.seed).fork("generate"),
          signal: ctx.signal,
          onBatch: (done) =>
            ctx.progress(done / Math.max(1, slots.length), `${done}/${slots.length} comparisons`),
        });
        async function* recorded(): AsyncGenerator<Candidate> {
          for await (const raw of written) {
            const a = storableText(raw.response_a);
            const b = storableText(raw.response_b);
            altered += Number(a.changed) + Number(b.changed);
            const c = { ...raw, response_a: a.text, response_b: b.text };
            await items.write({
              comparison_id: c.comparison_id,
              prompt: c.prompt,
              response_a: c.response_a,
              response_b: c.response_b,
            });
            yield c;
          }
        }
        for await (const sim of rateCandidates(world, recorded())) {
          for (const j of sim.judgments) await judgments.write(j);
          await truth.write(`${n++ > 0 ? ",\n" : ""}${JSON.stringify(sim.truth)}`);
          summary.add(sim);
          for (const k of [sim.truth.kind_a, sim.truth.kind_b]) kinds[k] = (kinds[k] ?? 0) + 1;
        }
        s = summary.finish();
        await truth.write(`${n > 0 ? "\n" : ""}],\n"summary":${JSON.stringify(s)}}\n`);
        await items.commit();
        await judgments.commit();
        await truth.commit();
      } catch (e) {
        await items.abort();
        await judgments.abort();
        await truth.abort();
        throw e;
      } finally {
        if (isClosable(provider)) await provider.close();
      }
      return {
        generated_by: provider.id(),
        comparisons: n,
        judgments: judgments.count,
        ties: s.ties,
        /** Responses cut to MAX_TEXT_CHARS or stripped of NUL characters to be storable. */
        altered,
        triggered: s.triggered,
        /** The oracle's reading of the generated responses, by kind. */
        kinds,
        raters: world.roster.raters.length,
      };
    },
  };
}
