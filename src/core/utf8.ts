/**
 * Finding invalid UTF-8, in core so that every layer refuses it alike: decoding invalid bytes
 * would put U+FFFD in their place, and the text read (stored, hashed, trained on) would differ
 * from the file's. Readers check with `buffer.isUtf8` (native, fast) and call
 * `firstInvalidUtf8` only for bytes that fail, to say where.
 */
import { isUtf8 } from "node:buffer";
import { KeelError } from "./errors.js";

/**
 * Offset of the first byte of the first ill-formed sequence in `buf[start, end)`, or -1 when
 * the range is well-formed UTF-8 (the Unicode standard's table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF). A sequence cut off by `end` is ill-formed.
 */
export function firstInvalidUtf8(buf: Uint8Array, start = 0, end = buf.length): number {
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= end) return i;
    const second = buf[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The error for a line whose bytes are not UTF-8 (`offset` from the start of the line). */
export function invalidUtf8Error(
  file: string,
  line: number,
  offset: number,
  byte: number,
): KeelError {
  return new KeelError(
    "KEEL_E_INVALID_RECORD",
    `invalid UTF-8 at byte offset ${offset} of the line (byte 0x${byte.toString(16).padStart(2, "0")})`,
    {
      where: { file, line },
      hint: "keel reads text as UTF-8; convert the file first (for example: iconv -f windows-1252 -t utf-8)",
    },
  );
}

/**
 * `bytes` (the whole of `file`) as text; bytes that are not UTF-8 are KEEL_E_INVALID_RECORD at
 * the line and byte offset of the first bad one.
 */
export function decodeUtf8(bytes: Buffer, file: string): string {
  if (!isUtf8(bytes)) {
    const bad = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let nl = bytes.indexOf(10); nl !== -1 && nl < bad; nl = bytes.indexOf(10, nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    throw invalidUtf8Error(file, line, bad - lineStart, bytes[bad]!);
  }
  return bytes.toString("utf8");
}
