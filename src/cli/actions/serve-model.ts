/**
 * `keel serve-model`'s action: the generation provider (a checkpoint or an upstream server), the
 * optional output guard, and the OpenAI-compatible app, until Ctrl-C.
 */
import { appendFileSync, closeSync, openSync } from "node:fs";
import { KeelError } from "../../core/errors.js";
import { describeFsError } from "../../core/files.js";
import { ruleClassifier } from "../../defend/filters/lexicon.js";
import { EngineProvider, parseEngineConfig } from "../../providers/engine.js";
import { OpenAiProvider, parseOpenAiConfig } from "../../providers/openai.js";
import { EngineRewardProvider } from "../../providers/reward/engine.js";
import { type GenerationProvider, isClosable } from "../../providers/types.js";
import { buildModelApp } from "../../server/openai/app.js";
import { OutputGuard } from "../../server/openai/guard.js";
import { checkPolicy } from "../../train/common/role.js";
import type { ServeModelFlags } from "../commands/serve-model.js";
import { printLine } from "../output.js";
import { closeWithin, listenOrExplain, secretFromEnv, untilSignal } from "./serving.js";

export interface Served {
  readonly provider: GenerationProvider;
  readonly model: string;
  /** The server's cap on a request's max_tokens (undefined: none). */
  readonly cap: number | undefined;
  /** What a chat request without max_tokens gets: the provider's own default. */
  readonly chatDefault: number;
}

/**
 * The provider, and the token limits the server states explicitly so that its work budget
 * counts what the provider would do anyway: a keel checkpoint never generates past its context,
 * so its cap is at most the context; a chat request without max_tokens gets the provider's
 * default (or --max-tokens).
 */
export function servedProvider(o: ServeModelFlags): Served {
  if ((o.checkpoint === undefined) === (o.upstream === undefined))
    throw new KeelError("KEEL_E_USAGE", "give exactly one of --checkpoint DIR and --upstream URL");
  if (o.checkpoint) {
    checkPolicy(o.checkpoint, { file: o.checkpoint, field: "--checkpoint" });
    const p = new EngineProvider(
      parseEngineConfig({
        checkpoint: o.checkpoint,
        ...(o.model ? { model: o.model } : {}),
        ...(o.maxTokens ? { max_tokens: o.maxTokens } : {}),
        ...(o.temperature === undefined ? {} : { temperature: o.temperature }),
        ...(o.threads ? { threads: o.threads } : {}),
        seed: o.seed,
        // An API client is told its prompt does not fit rather than answered on its last part.
        prompt_overflow: "refuse",
      }),
    );
    const context = p.model.config.context;
    return {
      provider: p,
      model: p.name,
      cap: Math.min(o.maxTokens ?? context, context),
      chatDefault: p.config.max_tokens,
    };
  }
  if (!o.upstreamModel)
    throw new KeelError("KEEL_E_USAGE", "--upstream needs --upstream-model NAME");
  const p = new OpenAiProvider(
    parseOpenAiConfig({
      base_url: o.upstream,
      model: o.upstreamModel,
      ...(o.upstreamKeyEnv ? { api_key_env: o.upstreamKeyEnv } : {}),
      ...(o.temperature === undefined ? {} : { temperature: o.temperature }),
    }),
  );
  return {
    provider: p,
    model: o.model ?? o.upstreamModel,
    cap: o.maxTokens,
    chatDefault: o.maxTokens ?? p.config.max_tokens,
  };
}

/**
 * `--refusal-log`'s writer. The file is opened once before serving, so that a path that cannot
 * be written stops the server at start (it failed at the first refusal, mid-request). A later
 * failed append (a full disk) is logged and the refusal still answered: the caller gets the
 * refusal either way, never the output the guard held back.
 */
export function refusalLog(path: string, onError: (e: unknown) => void): (r: unknown) => void {
  try {
    closeSync(openSync(path, "a"));
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot write the refusal log: ${describeFsError(e)}`, {
      where: { file: path, field: "--refusal-log" },
    });
  }
  return (r) => {
    try {
      appendFileSync(path, `${JSON.stringify(r)}\n`);
    } catch (e) {
      onError(e);
    }
  };
}

export async function runServeModel(o: ServeModelFlags): Promise<void> {
  const apiKey = secretFromEnv(o.apiKeyEnv, "--api-key-env");
  const { provider: p, model, cap, chatDefault } = servedProvider(o);
  // Everything loaded so far is released when a later step fails (a cost model that does not
  // load, a refusal log that cannot be written): a long-lived caller must not keep the models.
  let cost: EngineRewardProvider | undefined;
  let guard: OutputGuard | undefined;
  let app: Awaited<ReturnType<typeof buildModelApp>> | undefined;
  try {
    cost = o.costModel
      ? new EngineRewardProvider({
          dir: o.costModel,
          expect: "cost",
          field: "--cost-model",
          ...(o.threads ? { threads: o.threads } : {}),
        })
      : undefined;
    const appendRefusal = o.refusalLog
      ? refusalLog(o.refusalLog, (e) =>
          app?.log.error({ err: e }, "cannot append to --refusal-log"),
        )
      : undefined;
    guard =
      o.guard || cost
        ? new OutputGuard({
            safety: ruleClassifier(),
            ...(cost ? { cost, costThreshold: o.costThreshold } : {}),
            ...(o.refusal ? { refusal: o.refusal } : {}),
            logTexts: o.logTexts ?? false,
            onRefusal: (r) => {
              app?.log.warn(r, "guarded refusal");
              appendRefusal?.(r);
            },
          })
        : undefined;
    app = await buildModelApp({
      provider: p,
      model,
      ...(apiKey ? { apiKey } : {}),
      ...(guard ? { guard } : {}),
      ...(cap === undefined ? {} : { maxTokens: cap }),
      chatMaxTokens: chatDefault,
      maxRequestTokens: o.maxRequestTokens,
      maxPending: o.maxPending,
      logLevel: o.logLevel,
    });
  } catch (e) {
    if (isClosable(p)) await p.close();
    await cost?.close();
    throw e;
  }
  const served = app;
  const address = await listenOrExplain(served, { port: o.port, host: o.host }, async () => {
    await served.close();
    if (isClosable(p)) await p.close();
    await cost?.close();
  });
  printLine(
    `keel serving model ${model} (${p.id()}${guard ? `, guarded by ${guard.id}` : ""}) on ${address}`,
  );
  await untilSignal();
  await closeWithin(app, Math.round(o.shutdownTimeout * 1000));
  if (isClosable(p)) await p.close();
  await cost?.close();
  printLine("keel stopped");
}
