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
import { mkdir } from "node:fs/promises";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { describeFsError, TextSink } from "../../io/files.js";
import { readJsonObject } from "../../io/json-read.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { EngineProvider } from "../../providers/engine.js";
import { generatePairs } from "../../providers/pairs.js";
import { createGenerationProvider } from "../../providers/registry.js";
import { type GenerationProvider, isClosable } from "../../providers/types.js";
import {
  buildWorld,
  type Candidate,
  promptsById,
  rateCandidates,
  type TruthSummary,
  truthHead,
  type World,
  type WorldPrompt,
} from "../../world/index.js";
import type { PipelineConfig } from "../config.js";
import type { Plan } from "../plan.js";
import type { Stage } from "../runner.js";
import { TruthWriter } from "../world-files.js";

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

/** The world's comparisons (id and prompt, in order) from its truth.json. */
async function worldComparisons(
  world: World,
  truthPath: string,
): Promise<{ comparison_id: string; prompt: WorldPrompt }[]> {
  const byId = promptsById(world);
  const out: { comparison_id: string; prompt: WorldPrompt }[] = [];
  // Entry by entry: a large world's truth.json passes V8's string limit as one text.
  await readJsonObject(truthPath, {
    arrays: {
      comparisons: (e) => {
        const c = e as { comparison_id: string; prompt_id: string };
        const prompt = byId.get(c.prompt_id);
        if (prompt === undefined) {
          throw new KeelError("KEEL_E_NOT_FOUND", `no world prompt has id ${c.prompt_id}`, {
            where: { file: truthPath, id: c.comparison_id, field: "prompt_id" },
          });
        }
        out.push({ comparison_id: c.comparison_id, prompt });
      },
    },
  });
  return out;
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
    // The seed draws the samples (the world's own seed may be pinned apart from it).
    config: { generate: g, max_new_tokens: plan.generate.maxNewTokens, seed: plan.config.seed },
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
      const sink = new TextSink(ctx.run.file("generate/truth.json"));
      const truth = new TruthWriter(sink, truthHead(world), { generated_by: provider.id() });
      const kinds: Record<string, number> = {};
      let altered = 0;
      let s: TruthSummary;
      try {
        const pairs = generatePairs(
          provider,
          slots.map((x) => ({ comparison_id: x.comparison_id, prompt: x.prompt.content })),
          {
            maxTokens: plan.generate.maxNewTokens,
            temperature: g.temperature,
            batch: g.batch_size,
            concurrency: g.concurrency,
            rng: new Rng(plan.config.seed).fork("generate"),
            signal: ctx.signal,
            onChunk: (done) =>
              ctx.progress(done / Math.max(1, slots.length), `${done}/${slots.length} comparisons`),
          },
        );
        const promptIds = new Map(slots.map((x) => [x.comparison_id, x.prompt.id]));
        async function* recorded(): AsyncGenerator<Candidate> {
          for await (const { altered: changed, ...item } of pairs) {
            altered += changed;
            await items.write(item);
            yield { ...item, prompt_id: promptIds.get(item.comparison_id)! };
          }
        }
        for await (const sim of rateCandidates(world, recorded())) {
          for (const j of sim.judgments) await judgments.write(j);
          await truth.add(sim);
          for (const k of [sim.truth.kind_a, sim.truth.kind_b]) kinds[k] = (kinds[k] ?? 0) + 1;
        }
        s = await truth.finish();
        await items.commit();
        await judgments.commit();
        await sink.commit();
      } catch (e) {
        await items.abort();
        await judgments.abort();
        await sink.abort();
        throw e;
      } finally {
        if (isClosable(provider)) await provider.close();
      }
      return {
        generated_by: provider.id(),
        comparisons: truth.count,
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
