/** `keel serve-rm`'s action: load the models, build the reward app, listen until Ctrl-C. */
import { KeelError } from "../../core/errors.js";
import { ruleClassifier } from "../../defend/filters/lexicon.js";
import { EngineRewardProvider } from "../../providers/reward/engine.js";
import { buildRewardApp } from "../../server/reward/app.js";
import { CombinedScorer } from "../../server/reward/scorer.js";
import type { ServeRmFlags } from "../commands/serve-rm.js";
import { printLine } from "../output.js";
import { closeWithin, listenOrExplain, secretFromEnv, untilSignal } from "./serving.js";

export async function runServeRm(o: ServeRmFlags): Promise<void> {
  if (o.timeout <= 0) throw new KeelError("KEEL_E_USAGE", "--timeout must be > 0");
  const apiKey = secretFromEnv(o.apiKeyEnv, "--api-key-env");
  const threads = o.threads ? { threads: o.threads } : {};
  const reward = new EngineRewardProvider({
    dir: o.rewardModel,
    expect: "reward",
    field: "--reward-model",
    ...threads,
  });
  // Everything loaded so far is released when a later step fails (a cost model that does not
  // load, options the app refuses): a long-lived caller must not keep the models' sessions.
  let cost: EngineRewardProvider | undefined;
  let scorer: CombinedScorer;
  let app: Awaited<ReturnType<typeof buildRewardApp>>["app"];
  try {
    cost = o.costModel
      ? new EngineRewardProvider({
          dir: o.costModel,
          expect: "cost",
          field: "--cost-model",
          ...threads,
        })
      : undefined;
    scorer = new CombinedScorer({
      reward,
      ...(cost ? { cost, costWeight: o.costWeight } : {}),
      ...(o.safety ? { safety: ruleClassifier() } : {}),
      floor: o.floor,
    });
    ({ app } = await buildRewardApp({
      scorer,
      floor: o.floor,
      failClosed: o.failClosed ?? false,
      maxBatch: o.maxBatch,
      maxQueuedItems: o.maxQueuedItems,
      maxPending: o.maxPending,
      timeoutMs: Math.round(o.timeout * 1000),
      strip: o.strip,
      ...(apiKey ? { apiKey } : {}),
      logLevel: o.logLevel,
    }));
  } catch (e) {
    await reward.close();
    await cost?.close();
    throw e;
  }
  const address = await listenOrExplain(app, { port: o.port, host: o.host }, async () => {
    await app.close();
    await reward.close();
    await cost?.close();
  });
  printLine(
    `keel serving rewards (${scorer.id}${o.failClosed ? ", fail-closed" : ""}) on ${address} (POST /get_reward)`,
  );
  await untilSignal();
  await closeWithin(app, Math.round(o.shutdownTimeout * 1000));
  await reward.close();
  await cost?.close();
  printLine("keel stopped");
}
