/**
 * What the lifecycle tests count as held: worker threads the main thread started, models
 * (`Gpt`: ONNX Runtime sessions, replica workers) not yet disposed, ONNX Runtime sessions not
 * yet released. Each `track*` wraps the real module for a test file's `vi.mock`; this file
 * imports nothing of keel's, so a mock factory can load it while keel's modules are loading.
 */
import type { Worker } from "node:worker_threads";
import type * as CoreWorker from "../../src/core/worker.js";
import type * as GptModule from "../../src/engine/gpt/model.js";

export const workers = new Set<Worker>();
export const models = new Set<object>();
export const sessions = new Set<object>();

export function trackWorkers(real: typeof CoreWorker): typeof CoreWorker {
  return {
    ...real,
    startModuleWorker: (...args: Parameters<typeof real.startModuleWorker>) => {
      const w = real.startModuleWorker(...args);
      workers.add(w);
      w.once("exit", () => workers.delete(w));
      return w;
    },
  };
}

export function trackModels(real: typeof GptModule): typeof GptModule {
  class TrackedGpt extends real.Gpt {
    constructor(...args: ConstructorParameters<typeof real.Gpt>) {
      super(...args);
      models.add(this);
    }
    override async dispose(): Promise<void> {
      models.delete(this);
      await super.dispose();
    }
  }
  return { ...real, Gpt: TrackedGpt };
}

/** onnxruntime-node with `InferenceSession.create` counting the sessions it makes. */
export function trackSessions<T extends { InferenceSession: object }>(real: T): T {
  const create = async (...args: unknown[]) => {
    const make = (real.InferenceSession as { create(...a: unknown[]): Promise<object> }).create;
    const session = (await make(...args)) as { release(): Promise<void> };
    const release = session.release.bind(session);
    sessions.add(session);
    session.release = async () => {
      sessions.delete(session);
      await release();
    };
    return session;
  };
  const InferenceSession = new Proxy(real.InferenceSession, {
    get: (target, key, receiver) =>
      key === "create" ? create : Reflect.get(target, key, receiver),
  });
  return { ...real, InferenceSession, default: { ...real, InferenceSession } };
}
