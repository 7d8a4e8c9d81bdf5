/**
 * Streaming line reader. It splits raw bytes on `\n` (a byte that never occurs inside a UTF-8
 * multi-byte sequence), strips a trailing `\r` and a leading BOM, and yields lines in batches so
 * that per-line `await` overhead does not dominate large imports. Memory stays bounded by the
 * chunk size and the longest line, which is itself capped.
 */
import { KeelError } from "../core/errors.js";
import { openInput, peekStdinChunks } from "./files.js";

export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export interface LineBatch {
  /** Line number (1-based) of `lines[0]`. */
  readonly firstLine: number;
  readonly lines: string[];
}

export async function* readLineBatches(path: string): AsyncGenerator<LineBatch> {
  const input = await openInput(path);
  try {
    yield* splitLines(input as AsyncIterable<Buffer>, path);
  } finally {
    if (path !== "-") (input as { destroy?: () => void }).destroy?.();
  }
}

/**
 * The first non-blank line of `path` and its number, or undefined if it has none. Standard
 * input is peeked at, not consumed (breaking out of a stream's iterator destroys the stream):
 * the next `openInput("-")` gives the parser those bytes again.
 */
export async function firstNonBlankLine(
  path: string,
): Promise<{ text: string; line: number } | undefined> {
  // Lines are split as the bytes arrive (a long first line is gathered once, up to the cap).
  const batches = path === "-" ? splitLines(peekStdinChunks(), path) : readLineBatches(path);
  for await (const { firstLine, lines } of batches) {
    const i = lines.findIndex((l) => l.trim() !== "");
    if (i >= 0) return { text: lines[i]!, line: firstLine + i };
  }
  return undefined;
}

/**
 * Lines of a byte stream, in batches (one per chunk that ends a line). A line longer than a
 * chunk is gathered piece by piece and joined once, so a long line costs one copy however
 * small the chunks are.
 */
async function* splitLines(
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  path: string,
): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNo = 1;
  let first = true;
  const tooLong = (line: number) =>
    new KeelError("KEEL_E_INVALID_RECORD", `line is longer than ${MAX_LINE_BYTES} bytes`, {
      where: { file: path, line },
    });
  for await (const chunk of input) {
    let buf = chunk;
    if (first) {
      first = false;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
        buf = buf.subarray(3);
    }
    if (buf.indexOf(10) < 0) {
      // No line ends here: keep the piece for the line it belongs to.
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes > MAX_LINE_BYTES) throw tooLong(lineNo);
      continue;
    }
    if (pending.length > 0) {
      pending.push(buf);
      buf = Buffer.concat(pending, pendingBytes + buf.length);
      pending = [];
      pendingBytes = 0;
    }
    const lines: string[] = [];
    const start = lineNo;
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const end = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
      if (end - pos > MAX_LINE_BYTES) throw tooLong(start + lines.length);
      lines.push(buf.toString("utf8", pos, end));
      pos = nl + 1;
    }
    lineNo += lines.length;
    if (pos < buf.length) {
      pending.push(buf.subarray(pos));
      pendingBytes = buf.length - pos;
      if (pendingBytes > MAX_LINE_BYTES) throw tooLong(lineNo);
    }
    if (lines.length > 0) yield { firstLine: start, lines };
  }
  if (pendingBytes > 0) {
    const carry = Buffer.concat(pending, pendingBytes);
    let end = carry.length;
    if (carry[end - 1] === 13) end--;
    yield { firstLine: lineNo, lines: [carry.toString("utf8", 0, end)] };
  }
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
