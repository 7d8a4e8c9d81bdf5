/**
 * Lines of a file by number, read again on demand. A record that the store refuses (a
 * comparison id that names other texts, an unknown comparison) is known only by its line
 * number by then: the parser kept no text of valid lines, which would double the memory and
 * the traffic between threads of every import for the rare rejection. The rejects file gets
 * the line from here instead, by a second, forward-only read of the input that starts at the
 * first such rejection and keeps the last two chunks of lines. Lines the parser could not read
 * (not UTF-8, too long) were set aside with their text already; here they are passed over.
 */
import { type LineBatch, readLineBatches } from "./lines.js";

export class RawLines {
  private batches: AsyncGenerator<LineBatch> | undefined;
  private window: LineBatch[] = [];
  private ended = false;

  constructor(private readonly path: string) {}

  /** The text of line `n`, or undefined if it is behind the window or past the end. */
  async line(n: number): Promise<string | undefined> {
    if (this.path === "-") return undefined; // standard input cannot be read twice
    for (;;) {
      for (const b of this.window) {
        if (n >= b.firstLine && n < b.firstLine + b.lines.length) return b.lines[n - b.firstLine];
      }
      const last = this.window[this.window.length - 1];
      if (this.ended || (last !== undefined && n < last.firstLine)) return undefined;
      this.batches ??= readLineBatches(this.path, { invalid: "report" });
      const next = await this.batches.next();
      if (next.done) {
        this.ended = true;
        return undefined;
      }
      this.window = [...this.window.slice(-1), next.value];
    }
  }

  async close(): Promise<void> {
    await this.batches?.return(undefined);
  }
}
