import { type ConfigSource, parseConfig } from "../../core/config.js";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { type ProtectedFile, resolveOutputTarget } from "../../io/output-target.js";
import { readPromptFile } from "../../io/prompts.js";
import { loadYamlConfig } from "../../io/yaml.js";
import { refuseInsideRun } from "../../pipeline/rundir.js";
import { EngineProvider, parseEngineConfig } from "../../providers/engine.js";
import { generatePairs } from "../../providers/pairs.js";
import { createGenerationProvider, generationProviderFields } from "../../providers/registry.js";
import { type GenerationProvider, isClosable } from "../../providers/types.js";
import { checkPolicy } from "../../train/common/role.js";
import type { GenerateCandidatesFlags } from "../commands/generate.js";
import { withInterrupt } from "../interrupt.js";
import { summaryPrinter } from "../output.js";
import { Progress } from "../progress.js";
import { modelFiles } from "./model-files.js";

/** The generation provider the flags name: a keel checkpoint (a policy) or a provider config. */
export async function providerOf(
  o: Pick<
    GenerateCandidatesFlags,
    "checkpoint" | "provider" | "maxNewTokens" | "temperature" | "seed"
  >,
): Promise<GenerationProvider> {
  if ((o.checkpoint === undefined) === (o.provider === undefined)) {
    throw new KeelError("KEEL_E_USAGE", "give exactly one of --checkpoint and --provider");
  }
  if (o.checkpoint !== undefined) {
    checkPolicy(o.checkpoint, { file: o.checkpoint, field: "--checkpoint" });
    return new EngineProvider(
      parseEngineConfig({
        checkpoint: o.checkpoint,
        max_tokens: o.maxNewTokens,
        temperature: o.temperature,
        seed: o.seed,
      }),
    );
  }
  const file = o.provider!;
  const { raw, source } = await loadYamlConfig(file);
  if (typeof raw.type !== "string") {
    const line = source.lineOf?.(["type"]);
    throw new KeelError("KEEL_E_CONFIG", "a provider config needs a type (openai or engine)", {
      where: { file, ...(line ? { line } : {}), field: "type" },
    });
  }
  const { type, ...fields } = raw;
  const schema = generationProviderFields(type);
  if (schema) parseConfig(schema, fields, source, [], `${type} provider`);
  try {
    return createGenerationProvider({ type, ...fields });
  } catch (e) {
    throw atLine(e, source);
  }
}

/** A provider's config error, at the line of its field in the provider file. */
function atLine(e: unknown, source: ConfigSource): unknown {
  if (!(e instanceof KeelError) || e.code !== "KEEL_E_CONFIG") return e;
  const field = e.where?.field;
  const line = field ? source.lineOf?.(field.split(".")) : undefined;
  // The providers' messages name the field themselves, which the location now does.
  const said = field ? `${field}: ` : undefined;
  const detail = said
    ? e.detail.replace(
        /^(\w+ provider: )?(.*)$/s,
        (_, what = "", rest: string) =>
          `${what}${rest.startsWith(said) ? rest.slice(said.length) : rest}`,
      )
    : e.detail;
  return new KeelError("KEEL_E_CONFIG", detail, {
    where: { ...e.where, file: source.file!, ...(line ? { line } : {}) },
    ...(e.hint ? { hint: e.hint } : {}),
  });
}

/** What the candidates file must not replace: the prompt file, the checkpoint, the provider config. */
function inputFiles(o: GenerateCandidatesFlags): ProtectedFile[] {
  return [
    { path: o.prompts, what: "the prompt file being read" },
    ...(o.checkpoint !== undefined ? modelFiles(o.checkpoint, "the checkpoint") : []),
    ...(o.provider !== undefined ? [{ path: o.provider, what: "the provider config" }] : []),
  ];
}

export async function runGenerateCandidates(o: GenerateCandidatesFlags): Promise<void> {
  // A pipeline run's stages own its files (the preferences stage writes pairs.jsonl).
  refuseInsideRun(o.out, "the candidate pairs");
  if (!/^[\w.-]{0,32}$/.test(o.idPrefix)) {
    throw new KeelError(
      "KEEL_E_USAGE",
      "--id-prefix: at most 32 letters, digits, '.', '_' and '-'",
    );
  }
  // Before the work: the candidates replaced the prompt file they were generated from.
  if (o.out !== "-") resolveOutputTarget(o.out, inputFiles(o));
  const prompts = await readPromptFile(o.prompts);
  const provider = await providerOf(o);
  const width = Math.max(6, String(prompts.length).length);
  const slots = prompts.map((prompt, i) => ({
    comparison_id: `${o.idPrefix}${String(i + 1).padStart(width, "0")}`,
    prompt,
  }));
  const progress = new Progress({
    label: "generate",
    unit: "prompts",
    total: slots.length,
    enabled: !o.quiet && !o.json && Boolean(process.stderr.isTTY),
  });
  const started = performance.now();
  const out = new JsonlWriter(o.out, { protect: inputFiles(o) });
  let altered = 0;
  let same = 0;
  try {
    await withInterrupt(async (signal) => {
      for await (const { altered: changed, ...item } of generatePairs(provider, slots, {
        maxTokens: o.maxNewTokens,
        temperature: o.temperature,
        batch: o.batchSize,
        concurrency: o.concurrency,
        rng: new Rng(o.seed).fork("generate"),
        signal,
        onChunk: (done) => progress.update(done),
      })) {
        altered += changed;
        if (item.response_a === item.response_b) same++;
        await out.write(item);
      }
    }, "stopping after the current batch; nothing is written");
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    progress.finish();
    if (isClosable(provider)) await provider.close();
  }
  const result = {
    out: o.out,
    pairs: out.count,
    generated_by: provider.id(),
    identical_pairs: same,
    altered,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
  // With --out -, standard output carries the pairs: the summary goes to standard error.
  const say = summaryPrinter(o.out);
  if (o.json) {
    say(JSON.stringify(result, null, 2));
    return;
  }
  say(
    `wrote ${result.pairs} candidate pairs by ${result.generated_by} to ${o.out} in ${result.seconds}s`,
  );
  if (same > 0) say(`${same} pairs have two identical responses (raise --temperature?)`);
  if (altered > 0)
    say(`${altered} responses were stripped of NUL characters or cut to be storable`);
  say(`next: keel project create <id> --name <name> --items ${o.out}`);
}
