/**
 * Finding invalid UTF-8. Readers check whole chunks with `buffer.isUtf8` (native, fast) and
 * call `firstInvalidUtf8` only for a chunk that fails, to say where. Decoding invalid bytes
 * would put U+FFFD in their place: the stored text, and its ledger hash, would then differ from
 * the file, so keel refuses such lines instead.
 */
import { isUtf8 } from "node:buffer";
import { Transform, type TransformCallback } from "node:stream";
import type { KeelError } from "../core/errors.js";
import { firstInvalidUtf8, invalidUtf8Error } from "../core/utf8.js";

export { firstInvalidUtf8, invalidUtf8Error };

/** A line of a stream that is not UTF-8. */
export interface InvalidLine {
  readonly line: number;
  readonly error: KeelError;
}

/**
 * Passes a byte stream through unchanged while checking that it is UTF-8, for parsers that
 * decode by themselves (CSV). Each line that is not is added to `invalid`, in order, before the
 * parser can see its end; the parser's consumer takes them off as its records pass those lines.
 * Chunks are checked whole; only the 0–3 bytes of a character cut by a chunk's end wait for the
 * next chunk.
 *
 * It also numbers the parser's bytes (`lineAt`), as every keel reader numbers lines: one per
 * `\n`. csv-parse's own count takes each `\r` as a line too, so a quoted field holding "\r\n"
 * would shift every later record's number by one — and with it which record an invalid line is
 * charged to: the record before it refused, the invalid one stored with U+FFFD.
 */
export class Utf8Check extends Transform {
  readonly invalid: InvalidLine[] = [];
  private carry: Buffer = Buffer.alloc(0);
  private line = 1;
  /** Offset in the stream of `carry[0]`, and of the current line's first byte. */
  private offset = 0;
  private lineStart = 0;
  /** Chunks passed on that `lineAt` has not counted through; the first starts at `seenStart`. */
  private readonly seen: Buffer[] = [];
  private seenStart = 0;
  /** `lineAt`'s place in the stream, and the newlines before it. */
  private counted = 0;
  private newlines = 0;

  constructor(private readonly file: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeEnd(bytes);
    this.check(bytes, cut);
    this.carry = Buffer.from(bytes.subarray(cut));
    this.offset += cut;
    if (chunk.length > 0) this.seen.push(chunk);
    done(null, chunk);
  }

  /** The line of the last byte passed through: no byte the parser has seen lies past it. */
  get lastLine(): number {
    return this.line;
  }

  /**
   * The line (1-based, lines end at `\n`) of the byte at stream offset `at`, which must have
   * passed through already. Offsets asked must not decrease: what lies before one is let go.
   */
  lineAt(at: number): number {
    while (this.counted < at && this.seen.length > 0) {
      const head = this.seen[0]!;
      const end = this.seenStart + head.length;
      const stop = Math.min(at, end);
      let nl = head.indexOf(10, this.counted - this.seenStart);
      while (nl >= 0 && this.seenStart + nl < stop) {
        this.newlines++;
        nl = head.indexOf(10, nl + 1);
      }
      this.counted = stop;
      if (stop === end) {
        this.seen.shift();
        this.seenStart = end;
      }
    }
    return this.newlines + 1;
  }

  override _flush(done: TransformCallback): void {
    if (this.carry.length > 0) this.check(this.carry, this.carry.length, true);
    done();
  }

  /** Notes the invalid lines of `bytes[0, end)`, and counts its lines. */
  private check(bytes: Buffer, end: number, atEnd = false): void {
    const valid = !atEnd && isUtf8(bytes.subarray(0, end));
    let pos = 0;
    for (;;) {
      const bad = valid ? -1 : firstInvalidUtf8(bytes, pos, end);
      const stop = bad < 0 ? end : bad;
      let nl = bytes.indexOf(10, pos);
      while (nl >= 0 && nl < stop) {
        this.line++;
        this.lineStart = this.offset + nl + 1;
        nl = bytes.indexOf(10, nl + 1);
      }
      if (bad < 0) return;
      const at = this.offset + bad - this.lineStart;
      this.invalid.push({
        line: this.line,
        error: invalidUtf8Error(this.file, this.line, at, bytes[bad]!),
      });
      // The rest of this line is not looked at: one error a line.
      if (nl < 0 || nl >= end) return;
      this.line++;
      this.lineStart = this.offset + nl + 1;
      pos = nl + 1;
    }
  }
}

/** The end of the last whole character in `b` (a multi-byte character may be cut off). */
function completeEnd(b: Buffer): number {
  const n = b.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const c = b[n - k]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (c < 0x80) return n;
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return len > k ? n - k : n;
  }
  return n;
}
