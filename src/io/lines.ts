/**
 * Streaming line reader. It splits raw bytes on `\n` (a byte that never occurs inside a UTF-8
 * multi-byte sequence), strips a trailing `\r` and a leading BOM, and yields lines in batches so
 * that per-line `await` overhead does not dominate large imports. Memory stays bounded by the
 * chunk size and the longest line, which is itself capped.
 *
 * A line that is not UTF-8, or longer than the cap, cannot be read as text. By default the
 * first such line throws `file:line: …`; with `{ invalid: "report" }` it comes in the batch's
 * `bad` list instead (with what could be read of it) and reading goes on, so that an import
 * with --skip-invalid can set it aside. The bytes of each chunk are checked for UTF-8 at once
 * (`isUtf8`, native); only a chunk that fails is looked at line by line.
 *
 * Every reader of lines reads JSON Lines, and a line of JSON may cost far more memory than its
 * bytes: 32 MiB of `[],` is 11 million arrays, half a gigabyte once parsed, and 32 MiB of
 * `"k1":0,` one object of 3 million keys whose table V8 allocates in one piece. Either ran the
 * parse worker out of heap, and V8 ended the whole process ("Reached heap limit") rather than
 * the worker. A line with more than MAX_LINE_VALUES values is therefore a bad line too,
 * refused before it is parsed; a line needs two bytes a value, so shorter lines are not looked
 * at.
 */
import { isUtf8 } from "node:buffer";
import { KeelError } from "../core/errors.js";
import { openInput, peekStdinChunks } from "./files.js";
import { firstInvalidUtf8, invalidUtf8Error } from "./utf8.js";

export const MAX_LINE_BYTES = 32 * 1024 * 1024;

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** How much of an over-long line a reader keeps (for a rejects file): its first bytes only. */
export const TOO_LONG_PREFIX_BYTES = 1024;

/**
 * The most JSON values (array elements, object members, nested arrays and objects) a line may
 * hold: ten times what the largest valid record has (three message lists of 1,000 messages),
 * and at most some ten megabytes of parsed objects (a million was 120 MB: one object of that
 * many keys).
 */
export const MAX_LINE_VALUES = 100_000;

/** A line that could not be read: its index in the batch's `lines`, and why. */
export interface BadLine {
  readonly index: number;
  readonly reason: "too-long" | "not-utf8" | "too-many-values";
  readonly error: KeelError;
}

export interface LineBatch {
  /** Line number (1-based) of `lines[0]`. */
  readonly firstLine: number;
  /**
   * The lines' text. A bad line's entry holds what could be read of it: invalid bytes decoded
   * as U+FFFD, or only the first TOO_LONG_PREFIX_BYTES of an over-long line or of one with too
   * many values.
   */
  readonly lines: string[];
  /** Lines that are not UTF-8, too long or of too many values (only with `invalid: "report"`). */
  readonly bad?: readonly BadLine[];
}

export interface ReadLinesOptions {
  /** "throw" (default): the first bad line throws; "report": bad lines come in `bad`. */
  readonly invalid?: "throw" | "report";
}

export async function* readLineBatches(
  path: string,
  opts: ReadLinesOptions = {},
): AsyncGenerator<LineBatch> {
  const input = await openInput(path);
  try {
    yield* splitLines(input as AsyncIterable<Buffer>, path, opts.invalid === "report");
  } finally {
    if (path !== "-") (input as { destroy?: () => void }).destroy?.();
  }
}

/**
 * The first non-blank line of `path` and its number, or undefined if it has none. Standard
 * input is peeked at, not consumed (breaking out of a stream's iterator destroys the stream):
 * the next `openInput("-")` gives the parser those bytes again. Lines that cannot be read are
 * passed over (the parser reports them, or sets them aside with --skip-invalid), except an
 * over-long line on standard input: passing over it would keep all of it for the parser.
 */
export async function firstNonBlankLine(
  path: string,
): Promise<{ text: string; line: number } | undefined> {
  // Lines are split as the bytes arrive (a long first line is gathered once, up to the cap).
  const batches =
    path === "-"
      ? splitLines(peekStdinChunks(), path, true)
      : readLineBatches(path, { invalid: "report" });
  for await (const { firstLine, lines, bad } of batches) {
    for (let i = 0; i < lines.length; i++) {
      const unreadable = bad?.find((b) => b.index === i);
      if (unreadable?.reason === "too-long" && path === "-") throw unreadable.error;
      if (unreadable === undefined && lines[i]!.trim() !== "")
        return { text: lines[i]!, line: firstLine + i };
    }
  }
  return undefined;
}

const TOO_LONG = `line is longer than ${MAX_LINE_BYTES} bytes`;
const TOO_MANY_VALUES = `line holds more than ${MAX_LINE_VALUES} JSON values (array elements, object members); no record needs so many, and parsing it could exhaust memory`;

/**
 * Whether `e` refused a line of which a reader keeps only the first TOO_LONG_PREFIX_BYTES
 * (over-long, or too many values): a rejects file says that its text is cut. The error may
 * have come from a parse worker, revived: it is known by its text.
 */
export function isCutLineError(e: Error): boolean {
  return e instanceof KeelError && (e.detail === TOO_LONG || e.detail === TOO_MANY_VALUES);
}

/**
 * Whether `buf[start, end)` holds more than MAX_LINE_VALUES values: commas, `[` and `{`
 * outside strings. Only a line of twice as many bytes can, so others are not scanned; within
 * a string the next quote is found natively. A line that is not JSON is counted all the same.
 */
function tooManyValues(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2 * MAX_LINE_VALUES) return false;
  let values = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      // Skip the string: to the next quote not escaped by an odd number of backslashes.
      for (;;) {
        const q = buf.indexOf(0x22, i + 1);
        if (q < 0 || q >= end) return false;
        let slashes = 0;
        while (buf[q - 1 - slashes] === 0x5c) slashes++;
        i = q;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x2c || c === 0x5b || c === 0x7b) {
      if (++values > MAX_LINE_VALUES) return true;
    }
  }
  return false;
}

/** What could be read of an over-long line: its first bytes, cut at a character boundary. */
function prefixOf(buf: Buffer, start: number): string {
  let end = Math.min(buf.length, start + TOO_LONG_PREFIX_BYTES);
  // Back up to the start of a character rather than cut one in two.
  while (end > start && end < buf.length && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString("utf8", start, end);
}

/**
 * Lines of a byte stream, in batches (one per chunk that ends a line). A line longer than a
 * chunk is gathered piece by piece and joined once, so a long line costs one copy however
 * small the chunks are. With `report`, a line over the cap is handed on as soon as it passes
 * the cap (as a bad line) and the rest of it is skipped unread.
 */
async function* splitLines(
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  path: string,
  report: boolean,
): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNo = 1;
  /** The stream's first bytes while they may yet be a BOM (a pipe may deliver 1 byte at a time). */
  let head: Buffer | undefined = Buffer.alloc(0);
  /** True while skipping the rest of an over-long line (report mode). */
  let skipping = false;
  const tooLong = (line: number) =>
    new KeelError("KEEL_E_INVALID_RECORD", TOO_LONG, { where: { file: path, line } });
  /** The over-long line being gathered, as a batch of its own; the rest of it is skipped. */
  const overflow = (): LineBatch => {
    const pieces: Buffer[] = [];
    let size = 0;
    for (const p of pending) {
      if (size > TOO_LONG_PREFIX_BYTES) break;
      pieces.push(p);
      size += p.length;
    }
    const head = Buffer.concat(pieces, size);
    const batch = {
      firstLine: lineNo,
      lines: [prefixOf(head, 0)],
      bad: [{ index: 0, reason: "too-long" as const, error: tooLong(lineNo) }],
    };
    pending = [];
    pendingBytes = 0;
    lineNo++;
    skipping = true;
    return batch;
  };
  for await (const chunk of input) {
    let buf = chunk;
    if (head !== undefined) {
      if (head.length > 0) buf = Buffer.concat([head, buf]);
      if (buf.length < 3 && BOM.subarray(0, buf.length).equals(buf)) {
        head = buf;
        continue;
      }
      head = undefined;
      if (BOM.equals(buf.subarray(0, 3))) buf = buf.subarray(3);
    }
    if (skipping) {
      const nl = buf.indexOf(10);
      if (nl < 0) continue;
      skipping = false;
      buf = buf.subarray(nl + 1);
    }
    const lastNl = buf.lastIndexOf(10);
    if (lastNl < 0) {
      // No line ends here: keep the piece for the line it belongs to.
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes > MAX_LINE_BYTES) {
        if (!report) throw tooLong(lineNo);
        yield overflow();
      }
      continue;
    }
    let end = lastNl + 1;
    if (pending.length > 0) {
      pending.push(buf);
      end += pendingBytes;
      buf = Buffer.concat(pending, pendingBytes + buf.length);
      pending = [];
      pendingBytes = 0;
    }
    const start = lineNo;
    const batch = splitComplete(buf, end, start, path, report, tooLong);
    lineNo += batch.lines.length;
    if (end < buf.length) {
      pending.push(buf.subarray(end));
      pendingBytes = buf.length - end;
      if (pendingBytes > MAX_LINE_BYTES) {
        if (batch.lines.length > 0) yield batch;
        if (!report) throw tooLong(lineNo);
        yield overflow();
        continue;
      }
    }
    if (batch.lines.length > 0) yield batch;
  }
  if (head !== undefined && head.length > 0) {
    // The whole input is one or two bytes of a BOM: not UTF-8, reported below.
    pending.push(head);
    pendingBytes += head.length;
  }
  if (pendingBytes > 0) {
    const carry = Buffer.concat(pending, pendingBytes);
    let end = carry.length;
    if (carry[end - 1] === 13) end--;
    const bad = isUtf8(carry.subarray(0, end)) ? -1 : firstInvalidUtf8(carry, 0, end);
    if (bad >= 0) {
      const error = invalidUtf8Error(path, lineNo, bad, carry[bad]!);
      if (!report) throw error;
      const lines = [carry.toString("utf8", 0, end)];
      yield { firstLine: lineNo, lines, bad: [{ index: 0, reason: "not-utf8" as const, error }] };
    } else if (tooManyValues(carry, 0, end)) {
      const error = tooManyValuesError(path, lineNo);
      if (!report) throw error;
      const lines = [prefixOf(carry, 0)];
      yield { firstLine: lineNo, lines, bad: [{ index: 0, reason: "too-many-values", error }] };
    } else yield { firstLine: lineNo, lines: [carry.toString("utf8", 0, end)] };
  }
}

function tooManyValuesError(path: string, line: number): KeelError {
  return new KeelError("KEEL_E_TOO_LARGE", TOO_MANY_VALUES, {
    where: { file: path, line },
    hint: "look for a list or an object that was meant to be a string, or split the record",
  });
}

/** Splits `buf[0, end)`, which ends with a newline, into lines numbered from `start`. */
function splitComplete(
  buf: Buffer,
  end: number,
  start: number,
  path: string,
  report: boolean,
  tooLong: (line: number) => KeelError,
): LineBatch {
  // The common case: all of it is UTF-8, and only its lines' lengths need a look.
  const valid = isUtf8(end === buf.length ? buf : buf.subarray(0, end));
  const lines: string[] = [];
  const bad: BadLine[] = [];
  let pos = 0;
  while (pos < end) {
    const nl = buf.indexOf(10, pos);
    const stop = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
    const line = start + lines.length;
    let badLine: BadLine | undefined;
    if (stop - pos > MAX_LINE_BYTES) {
      badLine = { index: lines.length, reason: "too-long", error: tooLong(line) };
    } else if (!valid) {
      const at = firstInvalidUtf8(buf, pos, stop);
      if (at >= 0) {
        const error = invalidUtf8Error(path, line, at - pos, buf[at]!);
        badLine = { index: lines.length, reason: "not-utf8", error };
      }
    }
    if (!badLine && tooManyValues(buf, pos, stop)) {
      const error = tooManyValuesError(path, line);
      badLine = { index: lines.length, reason: "too-many-values", error };
    }
    if (badLine) {
      if (!report) throw badLine.error;
      bad.push(badLine);
      lines.push(
        badLine.reason === "not-utf8" ? buf.toString("utf8", pos, stop) : prefixOf(buf, pos),
      );
    } else lines.push(buf.toString("utf8", pos, stop));
    pos = nl + 1;
  }
  return bad.length > 0 ? { firstLine: start, lines, bad } : { firstLine: start, lines };
}

/** Counts lines (for progress totals); a final line without a newline counts. */
export async function countLines(path: string): Promise<number> {
  const input = await openInput(path);
  let n = 0;
  let last = 10;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let pos = chunk.indexOf(10);
    while (pos >= 0) {
      n++;
      pos = chunk.indexOf(10, pos + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return last === 10 ? n : n + 1;
}
