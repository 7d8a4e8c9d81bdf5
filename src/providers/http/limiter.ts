/**
 * A counting semaphore: at most `max` tasks run at once; the rest wait in arrival order. A
 * waiting task whose signal aborts leaves the queue without ever running.
 */
import { KeelError } from "../../core/errors.js";

export class Limiter {
  private running = 0;
  private readonly waiting: { start: () => void; signal: AbortSignal | undefined }[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new KeelError("KEEL_E_CONFIG", `concurrency must be a positive integer, got ${max}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.start();
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          this.running++;
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(aborted(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}

export function aborted(signal: AbortSignal): KeelError {
  return new KeelError("KEEL_E_INTERRUPTED", `request aborted: ${String(signal.reason ?? "")}`);
}
