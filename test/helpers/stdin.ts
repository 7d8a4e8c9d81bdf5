/** A stand-in for process.stdin in tests of readers that take "-" (restored after each test). */
import { Readable } from "node:stream";
import { onTestFinished } from "vitest";

/**
 * Replaces standard input with `chunks` until the end of the current test; returns how many
 * bytes were taken from it so far (to show a reader stopped early).
 */
export function fakeStdin(chunks: Iterable<Buffer>): () => number {
  const real = Object.getOwnPropertyDescriptor(process, "stdin")!;
  onTestFinished(() => {
    Object.defineProperty(process, "stdin", real);
  });
  let taken = 0;
  const it = chunks[Symbol.iterator]();
  const stream = new Readable({
    read() {
      const next = it.next();
      if (next.done) this.push(null);
      else {
        taken += next.value.length;
        this.push(next.value);
      }
    },
  });
  Object.defineProperty(process, "stdin", { value: stream, configurable: true });
  return () => taken;
}
