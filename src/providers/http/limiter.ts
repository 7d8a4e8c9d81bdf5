/**
 * A counting semaphore: at most `max` tasks run at once; the rest wait in arrival order. A
 * waiting task whose signal aborts leaves the queue without ever running. Waiters that share a
 * signal (a command's one Ctrl-C signal, passed to every call) share one listener on it: one
 * each set off Node's "possible EventTarget memory leak" warning past ten.
 */
import { KeelError } from "../../core/errors.js";

interface Waiter {
  readonly start: () => void;
  readonly cancel: () => void;
  readonly signal: AbortSignal | undefined;
}

export class Limiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** The abort listener on each signal some waiter holds. */
  private readonly watched = new Map<AbortSignal, () => void>();

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
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits for a slot and returns the function that gives it back (for a task that outlives one
   * promise, such as a response body read after the call returns); calling it again does nothing.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.take(signal);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.running--;
      this.waiting.shift()?.start();
    };
  }

  private take(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({
        signal,
        start: () => {
          this.running++;
          this.unwatch(signal);
          resolve();
        },
        cancel: () => reject(aborted(signal!)),
      });
      if (signal && !this.watched.has(signal)) {
        const onAbort = () => {
          this.watched.delete(signal);
          const gone = this.waiting.filter((w) => w.signal === signal);
          for (const w of gone) this.waiting.splice(this.waiting.indexOf(w), 1);
          for (const w of gone) w.cancel();
        };
        this.watched.set(signal, onAbort);
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /** Drops the listener on `signal` once no waiter holds it. */
  private unwatch(signal: AbortSignal | undefined): void {
    if (!signal || this.waiting.some((w) => w.signal === signal)) return;
    const onAbort = this.watched.get(signal);
    if (onAbort) signal.removeEventListener("abort", onAbort);
    this.watched.delete(signal);
  }
}

export function aborted(signal: AbortSignal): KeelError {
  return new KeelError("KEEL_E_INTERRUPTED", `request aborted: ${String(signal.reason ?? "")}`);
}
