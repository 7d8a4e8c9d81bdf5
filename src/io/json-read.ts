/**
 * Reading a large JSON object file without making it one string: the reading side of
 * json-file.ts's `writeJsonFile`. keel's large JSON files (an audit's `comparisons`, a world's
 * truth.json `comparisons`) are objects whose bulk is one or two arrays of small entries; read
 * whole, past ~512 MiB of text (about 3M audited or 1.4M simulated comparisons) they fail on
 * V8's string limit although keel wrote them. Here the named top-level arrays are handed over
 * entry by entry (or passed over unparsed), and every other member is parsed whole.
 */
import { createReadStream } from "node:fs";
import { KeelError } from "../core/errors.js";
import { describeFsError } from "../core/files.js";
import { settleSetOf } from "./output-set.js";

/** What to do with a top-level array member: each entry to a callback, or skip it unparsed. */
export type ArrayHandler = ((entry: unknown, index: number) => void) | "skip";

export interface ReadJsonObjectOptions {
  /** Top-level members whose array entries are streamed instead of kept. */
  readonly arrays?: Readonly<Record<string, ArrayHandler>>;
  /** Characters read at a time (tests make it small to cut values across chunks). */
  readonly chunkChars?: number;
  /**
   * Told, at each chunk read, how many characters of the text before it were carried over into
   * the new text (copied again): tests check that a long value is not copied once per chunk.
   */
  readonly onCarry?: (chars: number) => void;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export interface JsonObjectRead {
  /** The object's members, without the streamed arrays. */
  readonly members: Record<string, unknown>;
  /** Each streamed array that was present, with its number of entries. */
  readonly arrays: ReadonlyMap<string, number>;
}

/**
 * The top-level object in `path`, its members named in `o.arrays` streamed (their entries went
 * to the handlers, in order; a member of that name that is not an array is kept as a member).
 * Not JSON, or not an object: KEEL_E_INVALID_RECORD naming the file and the character offset;
 * unreadable: KEEL_E_FILE. A skipped array's entries are checked for balance, not parsed.
 */
export async function readJsonObject(
  path: string,
  o: ReadJsonObjectOptions = {},
): Promise<JsonObjectRead> {
  // A file of a set that a killed keel left half renamed is finished first (output-set.ts).
  settleSetOf(path);
  const r = new Reader(path, o.chunkChars ?? 1 << 20, o.onCarry);
  try {
    return await r.object(o.arrays ?? {});
  } finally {
    r.close();
  }
}

class Reader {
  private text = "";
  private pos = 0;
  /** Characters dropped from the front of `text` so far (for offsets in errors). */
  private dropped = 0;
  private eof = false;
  /** Where the last value read started (a character offset in the file). */
  private valueAt = 0;
  private readonly chunks: AsyncIterator<string>;
  private readonly stream;

  constructor(
    private readonly path: string,
    chunkChars: number,
    private readonly onCarry?: (chars: number) => void,
  ) {
    // Characters, not bytes: the decoder keeps a character cut between chunks whole.
    this.stream = createReadStream(path, { encoding: "utf8", highWaterMark: chunkChars });
    this.chunks = this.stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  }

  close(): void {
    this.stream.destroy();
  }

  /** `message` at character `at` of the file (default: where reading is). */
  private fail(message: string, at = this.dropped + this.pos): never {
    throw new KeelError("KEEL_E_INVALID_RECORD", `not valid JSON at character ${at}: ${message}`, {
      where: { file: this.path },
    });
  }

  /** Reads one more chunk, keeping `text` from `keep` on; false at the end of the file. */
  private async more(keep: number): Promise<boolean> {
    if (this.eof) return false;
    let next: IteratorResult<string>;
    try {
      next = await this.chunks.next();
    } catch (e) {
      throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, {
        where: { file: this.path },
      });
    }
    if (next.done) {
      this.eof = true;
      return false;
    }
    this.dropped += keep;
    this.onCarry?.(this.text.length - keep);
    this.text = this.text.slice(keep) + next.value;
    this.pos -= keep;
    return true;
  }

  /** The next character that is not white space (its code), or -1 at the end. */
  private async peek(): Promise<number> {
    for (;;) {
      while (this.pos < this.text.length) {
        const c = this.text.charCodeAt(this.pos);
        if (!WS.has(c)) return c;
        this.pos++;
      }
      if (!(await this.more(this.pos))) return -1;
    }
  }

  private async expect(ch: string): Promise<void> {
    const c = await this.peek();
    if (c !== ch.charCodeAt(0)) {
      this.fail(c < 0 ? `the file ends where ${ch} was expected` : `expected ${ch}`);
    }
    this.pos++;
  }

  /** The raw text of the value that starts at the next non-space character. */
  private async rawValue(): Promise<string> {
    const first = await this.peek();
    if (first < 0) this.fail("the file ends where a value was expected");
    let start = this.pos;
    this.valueAt = this.dropped + start;
    let i = start;
    let depth = 0;
    let inString = false;
    let escaped = false;
    const scalar = first !== 0x7b && first !== 0x5b && first !== 0x22;
    /** The value's text in the chunks before the current one. */
    const pieces: string[] = [];
    for (;;) {
      const t = this.text;
      for (; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) {
            inString = false;
            if (depth === 0) return this.take(start, i + 1, pieces);
          }
        } else if (scalar) {
          if (c === 0x2c || c === 0x7d || c === 0x5d || WS.has(c))
            return this.take(start, i, pieces);
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) return this.take(start, i + 1, pieces);
        }
      }
      // Out of text inside the value: set its text so far aside and read on. Kept in `text`
      // instead, it would be copied again with every chunk (quadratic in the value's length).
      if (!(await this.more(t.length))) {
        if (scalar) return this.take(start, t.length, pieces);
        this.fail("the file ends inside a value", this.valueAt);
      }
      pieces.push(t.slice(start));
      i = 0;
      start = 0;
    }
  }

  /** The value: the pieces set aside, then `text` from `start` to `end` (where reading goes on). */
  private take(start: number, end: number, pieces: string[]): string {
    this.pos = end;
    const last = this.text.slice(start, end);
    if (pieces.length === 0) return last;
    pieces.push(last);
    return pieces.join("");
  }

  private async value(): Promise<unknown> {
    const raw = await this.rawValue();
    try {
      return JSON.parse(raw);
    } catch (e) {
      return this.fail(`in the value that starts here: ${(e as Error).message}`, this.valueAt);
    }
  }

  private readonly streamed = new Map<string, number>();

  async object(arrays: Readonly<Record<string, ArrayHandler>>): Promise<JsonObjectRead> {
    if ((await this.peek()) === 0xfeff) this.pos++;
    const out: Record<string, unknown> = {};
    await this.expect("{");
    if ((await this.peek()) === 0x7d) {
      this.pos++;
      return this.end(out);
    }
    for (;;) {
      if ((await this.peek()) !== 0x22) this.fail("expected a member's name in double quotes");
      const key = (await this.value()) as string;
      await this.expect(":");
      const handler = Object.hasOwn(arrays, key) ? arrays[key] : undefined;
      if (handler !== undefined && (await this.peek()) === 0x5b) {
        this.streamed.set(key, await this.array(handler));
      } else {
        // defineProperty: a member named __proto__ stays a member, as JSON.parse keeps it.
        Object.defineProperty(out, key, {
          value: await this.value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      const c = await this.peek();
      if (c !== 0x7d && c !== 0x2c) {
        this.fail(c < 0 ? "the file ends inside the object" : "expected , or }");
      }
      this.pos++;
      if (c === 0x7d) return this.end(out);
    }
  }

  /** Streams an array's entries; their number. */
  private async array(handler: ArrayHandler): Promise<number> {
    this.pos++; // [
    if ((await this.peek()) === 0x5d) {
      this.pos++;
      return 0;
    }
    for (let index = 0; ; index++) {
      if (handler === "skip") await this.rawValue();
      else handler(await this.value(), index);
      const c = await this.peek();
      if (c !== 0x5d && c !== 0x2c) {
        this.fail(c < 0 ? "the file ends inside an array" : "expected , or ]");
      }
      this.pos++;
      if (c === 0x5d) return index + 1;
    }
  }

  private async end(members: Record<string, unknown>): Promise<JsonObjectRead> {
    if ((await this.peek()) >= 0) this.fail("more text after the top-level object");
    return { members, arrays: this.streamed };
  }
}
