/**
 * CSV tables with a header row (RFC 4180 quoting, via csv-parse). The header is checked against
 * the expected columns: missing columns and unknown columns are errors; a leading unnamed column
 * (the index pandas writes by default) is ignored. Rows come back as column-name → string maps,
 * with the line number where the row ends. A record with bytes that are not UTF-8 is rejected
 * (`file:line: invalid UTF-8 …`, naming the line of the first bad byte) rather than decoded to
 * U+FFFD.
 */
import { parse } from "csv-parse";
import { KeelError } from "../core/errors.js";
import { quote } from "../core/issue-messages.js";
import { headUnits } from "../core/printable.js";
import type { Parsed } from "../core/types.js";
import { openInput } from "./files.js";
import { MAX_LINE_BYTES, TOO_LONG_PREFIX_BYTES } from "./lines.js";
import { type InvalidLine, Utf8Check } from "./utf8.js";

/**
 * The longest record a table may have, as a line of JSONL may: an unclosed quote would
 * otherwise make one record of the rest of the file, held in memory.
 */
export const MAX_RECORD_BYTES = MAX_LINE_BYTES;

/**
 * csv-parse's errors inside a quoted field. Skipping on from one, the parser stays in the field
 * and swallows the rows after it; a quote in an unquoted field (CSV_INVALID_OPENING_QUOTE)
 * ends at the line's end and is set aside like any bad row.
 */
const QUOTED_FIELD_ERRORS = new Set([
  "CSV_INVALID_CLOSING_QUOTE",
  "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE",
  "CSV_QUOTE_NOT_CLOSED",
]);

/**
 * csv-parse reports a quote inside an unquoted field once per quote, each time with the field
 * so far in its message: a line of n quotes cost O(n²) time and memory (a 120 kB line took 3 GB
 * and minutes). One record is set aside once, however many quotes it holds; past this many in
 * one record the parse ends (no row has a reason to hold so many).
 */
export const MAX_STRAY_QUOTES = 16;

/**
 * The most fields a record may have. csv-parse builds a record's array of fields before anything
 * sees it, and counts only their characters against MAX_RECORD_BYTES: 32 MiB of commas is one
 * record of 33 million empty fields, which ended the whole process out of heap ("Reached heap
 * limit"). Told to (`ignore_last_delimiters`), it stops splitting a record at its field
 * MAX_RECORD_FIELDS + 1, which then holds the rest of the line as text; a record that has such
 * a field is set aside. No keel table has more than five columns (an index column and four), so
 * a row of a few columns too many is still told how many it has.
 */
export const MAX_RECORD_FIELDS = 1_000;

export interface CsvColumns {
  readonly required: readonly string[];
  readonly optional?: readonly string[];
  /** Alternative spellings: alias → canonical column name. */
  readonly aliases?: Readonly<Record<string, string>>;
}

export async function* parseCsvBatches<T>(
  path: string,
  columns: CsvColumns,
  convert: (row: Record<string, string>, where: { file: string; line: number }) => T,
  batchSize = 2048,
): AsyncGenerator<Parsed<T>[]> {
  const input = await openInput(path);
  const utf8 = new Utf8Check(path);
  const skipped: Parsed<T>[] = [];
  /** An error after which no later record can be trusted: it ends the parse, --skip-invalid or not. */
  let fatal: KeelError | undefined;
  let lastRecordLine = 0;
  /** csv-parse's line count less ours at the last record (see Utf8Check: it counts `\r`s). */
  let shift = 0;
  /** csv-parse's line of the record a stray quote was last reported in, and how many it holds. */
  let strayLine = -1;
  let strays = 0;
  const parser = input.pipe(utf8).pipe(
    parse({
      bom: true,
      info: true,
      max_record_size: MAX_RECORD_BYTES,
      ignore_last_delimiters: MAX_RECORD_FIELDS + 1,
      on_record: (item, context) => {
        // With `info`, the item is `{ record, info }`. `bytes` is the offset just past the
        // record (and its line end, if it has one).
        const { record } = item as unknown as { record: string[] };
        lastRecordLine = utf8.lineAt(context.bytes - 1);
        shift = context.lines - lastRecordLine;
        return { record, line: lastRecordLine } as unknown as typeof item;
      },
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        // Where in the record the parser stopped is not told in bytes: its own count will do,
        // set right as of the last record (and kept inside the bytes it can have read).
        const parserLine = (err as { lines?: number } | undefined)?.lines ?? 0;
        const told = parserLine - shift;
        const line = Math.min(Math.max(lastRecordLine + 1, told), utf8.lastLine);
        // The field past the last one split holds the rest of the line, so its quotes are not
        // the field's own: the record has too many fields, and that is what is said.
        const inRest = (err as { index?: number } | undefined)?.index === MAX_RECORD_FIELDS;
        if (inRest && err?.code === "INVALID_OPENING_QUOTE") {
          // Set aside once, however many quotes the rest holds.
          if (parserLine === strayLine) return undefined;
          strayLine = parserLine;
          skipped.push({ ok: false, line, raw: "", error: tooManyFieldsError(path, line) });
          return undefined;
        }
        if (inRest && err?.code !== undefined && QUOTED_FIELD_ERRORS.has(err.code)) {
          // The rest starts with a quoted field: the parser is left inside it (see below).
          fatal = tooManyFieldsError(path, lastRecordLine + 1, "quoted");
          throw fatal;
        }
        if (err?.code === "INVALID_OPENING_QUOTE") {
          // A field is never quoted after its start: each further quote is the same record's.
          if (parserLine === strayLine) {
            if (++strays <= MAX_STRAY_QUOTES) return undefined;
            fatal = new KeelError(
              "KEEL_E_INVALID_RECORD",
              `malformed CSV quoting: more than ${MAX_STRAY_QUOTES} quotes inside unquoted fields of the record that starts here; nothing is imported (--skip-invalid included)`,
              {
                where: { file: path, line },
                hint: 'a field that holds a quote is quoted whole, with the quote doubled: "a ""b"""',
              },
            );
            throw fatal;
          }
          strayLine = parserLine;
          strays = 1;
        }
        if (err?.code === "CSV_MAX_RECORD_SIZE") {
          // Not a record to set aside: no later line can be told apart from this one.
          fatal = new KeelError(
            "KEEL_E_INVALID_RECORD",
            `the CSV record that starts here runs on for more than ${MAX_RECORD_BYTES} bytes (to line ${line})`,
            {
              where: { file: path, line: lastRecordLine + 1 },
              hint: 'look for an unclosed quote (") on this line',
            },
          );
          throw fatal;
        }
        if (err?.code !== undefined && QUOTED_FIELD_ERRORS.has(err.code)) {
          // The valid rows after it were neither imported nor rejected: the import stops here
          // whatever --skip-invalid says.
          fatal = new KeelError(
            "KEEL_E_INVALID_RECORD",
            `malformed CSV quoting in the record that starts here (the parser stopped at line ${line}): ${err.message.replace(/ (at|on) line \d+/g, "")}; the rows after it cannot be told apart, so nothing is imported (--skip-invalid included)`,
            {
              where: { file: path, line: lastRecordLine + 1 },
              hint: 'a quoted field ends at a comma or the line end; write a quote inside one as ""',
            },
          );
          throw fatal;
        }
        skipped.push({
          ok: false,
          line,
          raw: raw ?? "",
          error: new KeelError(
            "KEEL_E_INVALID_RECORD",
            // Without csv-parse's own line number, which is counted its way (see above).
            `malformed CSV: ${err === undefined ? "unparseable row" : skipMessage(err.message)}`,
            {
              where: { file: path, line },
            },
          ),
        });
        return undefined;
      },
    }),
  );
  let header: (string | undefined)[] | undefined;
  let batch: Parsed<T>[] = [];
  let prevEnd = 0;
  const items = rethrowFatal(
    parser as AsyncIterable<{ record: string[]; line: number }>,
    () => fatal,
  );
  try {
    for await (const item of items) {
      const { record, line } = item;
      // The parser runs ahead of this loop: only the rows it set aside before this one.
      let before = 0;
      while (before < skipped.length && skipped[before]!.line < line) before++;
      if (before > 0) batch.push(...skipped.splice(0, before));
      const unreadable = invalidIn(utf8.invalid, prevEnd + 1, line);
      prevEnd = line;
      if (record.length > MAX_RECORD_FIELDS) {
        const error = unreadable ?? tooManyFieldsError(path, line);
        if (header === undefined) throw error;
        // Kept by its first bytes, as an over-long line is (marked raw_truncated in a rejects file).
        const raw = headUnits(
          record.slice(0, TOO_LONG_PREFIX_BYTES).join(","),
          TOO_LONG_PREFIX_BYTES,
        );
        batch.push({ ok: false, line, raw, error });
        continue;
      }
      if (header === undefined) {
        if (unreadable) throw unreadable;
        // The header row was set aside (a stray quote): this row is data, not the header.
        const first = batch.find((p) => !p.ok);
        if (first !== undefined && !first.ok) throw first.error;
        header = checkHeader(record, columns, path, line);
        continue;
      }
      const raw = record.join(",");
      if (unreadable) {
        batch.push({ ok: false, line, raw, error: unreadable });
      } else if (record.length !== header.length) {
        batch.push({
          ok: false,
          line,
          raw,
          error: new KeelError(
            "KEEL_E_INVALID_RECORD",
            `expected ${header.length} columns, found ${record.length}`,
            { where: { file: path, line } },
          ),
        });
      } else {
        const row: Record<string, string> = {};
        header.forEach((name, i) => {
          if (name !== undefined) row[name] = record[i]!;
        });
        try {
          batch.push({ ok: true, line, record: convert(row, { file: path, line }) });
        } catch (e) {
          if (!(e instanceof KeelError)) throw e;
          batch.push({ ok: false, line, raw, error: e });
        }
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  } finally {
    if (path !== "-") input.destroy();
    utf8.destroy();
  }
  if (skipped.length > 0) batch.push(...skipped.splice(0));
  if (header === undefined) {
    throw new KeelError("KEEL_E_INVALID_RECORD", "empty file: expected a header row", {
      where: { file: path, line: 1 },
    });
  }
  if (batch.length > 0) yield batch;
}

const TOO_MANY_FIELDS = `CSV record has more than ${MAX_RECORD_FIELDS} fields; no table needs so many, and reading them all could exhaust memory`;

/**
 * Whether `e` set aside a record of too many fields, whose text a rejects file keeps by its
 * first TOO_LONG_PREFIX_BYTES only (it can be a whole 32 MiB line). Known by its text, as an
 * error revived from a parse worker is.
 */
export function isTooManyFieldsError(e: Error): boolean {
  return e instanceof KeelError && e.detail === TOO_MANY_FIELDS;
}

/**
 * A record of more than MAX_RECORD_FIELDS fields. One whose rest holds a quoted field
 * (`quoted`) leaves the parser inside that field, as any misplaced quote does: the rows after it
 * cannot be told apart, and the import stops.
 */
function tooManyFieldsError(file: string, line: number, quoted?: "quoted"): KeelError {
  const message =
    quoted === undefined
      ? TOO_MANY_FIELDS
      : `the CSV record that starts here has more than ${MAX_RECORD_FIELDS} fields; the rest of its line, read as one field, starts with a quote that the parser does not leave: the rows after it cannot be told apart, so nothing is imported (--skip-invalid included)`;
  return new KeelError("KEEL_E_TOO_LARGE", message, {
    where: { file, line },
    hint: 'look for a wrong delimiter, or for commas in a field that was meant to be quoted: "a,b"',
  });
}

const VALUE_IS = ", value is ";

/**
 * csv-parse's message for a row set aside, without its own line number (counted its way, see
 * on_skip). A stray quote's message quotes the field read so far, which may run to
 * MAX_RECORD_BYTES: it is cut to its start, with its length, as keel's messages quote values.
 */
function skipMessage(message: string): string {
  const at = message.indexOf(VALUE_IS);
  const from = at + VALUE_IS.length;
  const to = at < 0 ? -1 : endOfJsonString(message, from);
  const head = (to < 0 ? message : message.slice(0, at)).replace(/ (at|on) line \d+/g, "");
  if (to < 0) return head;
  const json = message.slice(from, to);
  const value = JSON.parse(json) as string;
  const short = quote(value);
  const length = short === json ? "" : ` (${value.length} characters)`;
  return `${head}${VALUE_IS}${short}${length}${message.slice(to)}`;
}

/** The end of the JSON string that starts at `from` (just past its closing quote), or −1. */
function endOfJsonString(text: string, from: number): number {
  if (text.charCodeAt(from) !== 0x22) return -1;
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/**
 * The first invalid-UTF-8 error of a record on lines [from, to], taken off the queue with any
 * before it (lines of skipped records) and the rest of the record's.
 */
function invalidIn(queue: InvalidLine[], from: number, to: number): KeelError | undefined {
  if (queue.length === 0) return undefined;
  let k = 0;
  while (k < queue.length && queue[k]!.line < from) k++;
  const error = k < queue.length && queue[k]!.line <= to ? queue[k]!.error : undefined;
  while (k < queue.length && queue[k]!.line <= to) k++;
  queue.splice(0, k);
  return error;
}

/** The parser's records, with its error for a record that ends the parse replaced by ours. */
async function* rethrowFatal<R>(
  records: AsyncIterable<R>,
  fatal: () => KeelError | undefined,
): AsyncGenerator<R> {
  try {
    yield* records;
  } catch (e) {
    throw fatal() ?? e;
  }
}

function checkHeader(
  record: readonly string[],
  columns: CsvColumns,
  file: string,
  line: number,
): (string | undefined)[] {
  const known = new Set([...columns.required, ...(columns.optional ?? [])]);
  const names = record.map((h) => h.trim());
  const header: (string | undefined)[] = names.map((h, i) => {
    if (i === 0 && (h === "" || h === "Unnamed: 0")) return undefined;
    const canonical = columns.aliases?.[h] ?? h;
    if (!known.has(canonical)) {
      throw new KeelError(
        "KEEL_E_INVALID_RECORD",
        `unknown column ${JSON.stringify(h)}; expected ${[...known].join(", ")}`,
        { where: { file, line } },
      );
    }
    return canonical;
  });
  for (const req of columns.required) {
    if (!header.includes(req)) {
      throw new KeelError(
        "KEEL_E_INVALID_RECORD",
        `missing column ${JSON.stringify(req)}; header is ${names.join(",")}`,
        { where: { file, line } },
      );
    }
  }
  const dup = header.find((h, i) => h !== undefined && header.indexOf(h) !== i);
  if (dup)
    throw new KeelError("KEEL_E_INVALID_RECORD", `duplicate column ${JSON.stringify(dup)}`, {
      where: { file, line },
    });
  return header;
}

/** Quotes a CSV field when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim()
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}
