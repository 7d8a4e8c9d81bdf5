/**
 * Starting one of keel's worker-thread entry modules. From compiled JavaScript the entry is the
 * caller's sibling `.js` file; from TypeScript sources (tests, tsx) it is the `.ts` file, loaded
 * through tsx's loader, which has to be registered inside the worker.
 */
import { type ResourceLimits, Worker } from "node:worker_threads";

/**
 * `new Worker` for the module `name` (without extension) next to `callerUrl` (the caller's
 * `import.meta.url`).
 */
export function startModuleWorker(
  callerUrl: string,
  name: string,
  options: { readonly workerData?: unknown; readonly resourceLimits?: ResourceLimits } = {},
): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
