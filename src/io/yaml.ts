/**
 * Reading a YAML config file with line numbers kept, so validation errors can name the line of
 * the offending field. keel reads plain YAML 1.2 data (plus merge keys, `<<: *defaults`, which
 * most YAML tools read) and refuses whatever would make the data differ from what the file
 * shows, or cost far more than its size to read:
 * - a key written twice in one mapping, also as `1` and `"1"` (both become the field "1"):
 *   YAML would otherwise keep the last one silently;
 * - a tag keel does not read (`!!binary`, `!!timestamp`, `!foo`, `!!js/function`): its value
 *   would arrive as a Buffer, a Date or a string nobody asked for;
 * - a second document (`---`), which would be ignored;
 * - aliases that expand the file past MAX_EXPANDED_BYTES (a "billion laughs" file), or that refer
 *   to the mapping holding them (a config that contains itself);
 * - a number that is not finite (`.inf`, `.nan`, 1e999), or one too small to hold (1e-400 would
 *   be read as 0);
 * - a file over MAX_CONFIG_BYTES, or one that is not UTF-8.
 */
import { isUtf8 } from "node:buffer";
import { open } from "node:fs/promises";
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from "yaml";
import type { ConfigSource } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { describeFsError } from "./files.js";
import { firstInvalidUtf8 } from "./utf8.js";

export interface YamlConfig {
  readonly raw: Record<string, unknown>;
  readonly source: ConfigSource;
}

/** The largest config file read: the examples are a few kilobytes; parsing 100 MB took 4 GB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** How much YAML a file may stand for once its aliases are expanded. */
export const MAX_EXPANDED_BYTES = 4 * MAX_CONFIG_BYTES;
/** The most aliases a file may use (the yaml library finds each alias's anchor in linear time). */
export const MAX_ALIASES = 1000;

/** The tags of plain data; any other would turn a value into something a config cannot hold. */
const PLAIN_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq", "merge"].map(
    (t) => `tag:yaml.org,2002:${t}`,
  ),
);

type YamlDoc = Document.Parsed;

function fail(file: string, line: number | undefined, message: string, hint?: string): never {
  throw new KeelError("KEEL_E_CONFIG", message, {
    where: { file, ...(line !== undefined ? { line } : {}) },
    ...(hint !== undefined ? { hint } : {}),
  });
}

/** Parses YAML text; `file` names it in errors and in the returned source. */
export function parseYamlConfig(text: string, file: string): YamlConfig {
  const lines = new LineCounter();
  // A line of stray quotes gives one error per quote. The library's pretty errors each quote
  // their line (a 200 kB line cost 74 s), and each error's stack trace costs more than its
  // parsing: neither is used, only the first error, placed by offset here.
  const stackTraceLimit = Error.stackTraceLimit;
  let doc: YamlDoc;
  try {
    Error.stackTraceLimit = 0;
    doc = parseDocument(text, {
      lineCounter: lines,
      uniqueKeys: false,
      merge: true,
      prettyErrors: false,
    });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) yamlProblem(problem, file, (offset) => lines.linePos(offset));
  checkNodes(doc, file, lineAt);
  let raw: unknown;
  try {
    // checkNodes bounded what aliases expand to, in place of the library's count of alias uses.
    raw = doc.toJS({ maxAliasCount: -1 }) ?? {};
  } catch (e) {
    fail(file, undefined, `invalid YAML: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(file, undefined, "the config must be a YAML mapping (`field: value` lines)");
  }
  const lineOf = (path: readonly (string | number)[]) => {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const seg of path) {
      const hit = childAt(doc, node, String(seg), 0);
      if (!hit) break;
      const at = (hit.at as Node | null)?.range;
      if (at) line = lineAt(at[0]);
      node = hit.value;
    }
    return line;
  };
  return { raw: raw as Record<string, unknown>, source: { file, lineOf } };
}

/** A parse error or warning (an unknown tag, a YAML version keel does not read) as KEEL_E_CONFIG. */
function yamlProblem(
  e: YAMLError,
  file: string,
  linePos: (offset: number) => { line: number; col: number },
): never {
  const pos = e.linePos?.[0] ?? linePos(e.pos[0]);
  const text = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  if (e.code === "MULTIPLE_DOCS") {
    fail(
      file,
      pos?.line,
      "a second YAML document starts here; a config file holds one",
      "remove this `---` line and what follows it, or put the second config in its own file",
    );
  }
  if (e.code === "TAG_RESOLVE_FAILED") {
    const tag = text.replace(/^Unresolved tag: /, "").replace(/^tag:yaml\.org,2002:/, "!!");
    fail(file, pos?.line, `keel does not read the tag ${tag}`, TAG_HINT);
  }
  if (/Maximum call stack/.test(text)) {
    fail(file, pos?.line, "nested too deeply to read", "a keel config needs a few levels at most");
  }
  const column = pos ? ` (column ${pos.col})` : "";
  fail(file, pos?.line, `invalid YAML: ${text}${column}`);
}

const TAG_HINT =
  "a config holds strings, numbers, booleans, null, lists and mappings: remove the tag";

/**
 * One pass over the document's nodes, children before parents: refuses duplicate and non-scalar
 * keys, unknown tags, a merge key whose value is not a mapping, more than MAX_ALIASES aliases,
 * and aliases that refer to an enclosing node or expand the file too far. An alias refers to the
 * last anchor of its name written before it, so that anchor's size is known by the time the
 * alias is reached, unless the anchor encloses it. Anchors are looked up here in a map: the yaml
 * library's own lookup walks the document for each alias.
 */
function checkNodes(doc: YamlDoc, file: string, lineAt: (offset: number) => number): void {
  const size = new Map<unknown, number>();
  const anchors = new Map<string, unknown>();
  const target = new Map<unknown, unknown>();
  const resolve = (n: unknown) => (isAlias(n) ? target.get(n) : n);
  const lineOf = (n: unknown) => {
    const r = (n as Node | null)?.range;
    return r ? lineAt(r[0]) : undefined;
  };
  const stack: { node: unknown; open: boolean }[] = [{ node: doc.contents, open: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const n = top.node;
    if (n === null || n === undefined) continue;
    if (!top.open) {
      enter(n as Node);
      stack.push({ node: n, open: true });
      for (const child of childrenOf(n).reverse()) stack.push({ node: child, open: false });
      continue;
    }
    let bytes: number;
    if (isAlias(n)) {
      const known = size.get(target.get(n));
      if (known === undefined) {
        fail(
          file,
          lineOf(n),
          `the alias *${n.source} refers to a mapping or list that contains it`,
          "a config cannot contain itself: copy the fields you meant to repeat",
        );
      }
      bytes = known;
    } else if (isMap(n)) {
      checkKeys(n.items, resolve, file, lineOf);
      bytes = 2;
      for (const p of n.items) bytes += (size.get(p.key) ?? 0) + (size.get(p.value) ?? 0);
    } else if (isSeq(n)) {
      bytes = 2;
      for (const item of n.items) bytes += size.get(item) ?? 0;
    } else {
      const r = (n as Node).range;
      bytes = r ? r[1] - r[0] + 1 : 1;
    }
    if (bytes > MAX_EXPANDED_BYTES) {
      fail(
        file,
        lineOf(n),
        `aliases expand this value to more than ${MAX_EXPANDED_BYTES} bytes of YAML`,
        "write the repeated parts out, or repeat them fewer times (an alias bomb?)",
      );
    }
    size.set(n, bytes);
  }

  function enter(n: Node): void {
    checkTag(n, file, lineOf);
    checkNumber(n, file, lineOf);
    if (isAlias(n)) {
      if (target.size >= MAX_ALIASES) {
        fail(file, lineOf(n), `more than ${MAX_ALIASES} aliases`, "write the values out");
      }
      const t = anchors.get(n.source);
      if (t === undefined) fail(file, lineOf(n), `no anchor &${n.source} before the alias`);
      target.set(n, t);
    } else if (n.anchor !== undefined) {
      anchors.set(n.anchor, n);
    }
  }
}

function childrenOf(n: unknown): unknown[] {
  if (isMap(n)) return n.items.flatMap((p) => [p.key, p.value]);
  if (isSeq(n)) return [...n.items];
  return [];
}

function checkTag(n: Node, file: string, lineOf: (n: unknown) => number | undefined): void {
  const tag = (n as { tag?: string }).tag;
  if (tag === undefined || PLAIN_TAGS.has(tag)) return;
  const shown = tag.replace(/^tag:yaml\.org,2002:/, "!!");
  fail(file, lineOf(n), `keel does not read the tag ${shown}`, TAG_HINT);
}

/**
 * A number a config can hold: YAML reads `.inf` and `.nan`, and turns 1e999 into infinity and
 * 1e-400 into 0 without a word. No keel setting takes a number that is not finite, and the 0
 * would turn a setting off (or fail at another field, "temperature 0 is greedy…"), so each is
 * refused here at its line, as written.
 */
function checkNumber(n: Node, file: string, lineOf: (n: unknown) => number | undefined): void {
  if (!isScalar(n) || typeof n.value !== "number") return;
  const v = n.value;
  const text = n.source ?? String(v);
  const finite = "keel's settings take finite numbers";
  if (Number.isNaN(v)) fail(file, lineOf(n), `the number ${text} is not a number`, finite);
  if (!Number.isFinite(v))
    fail(
      file,
      lineOf(n),
      /^[-+]?\.inf$/i.test(text)
        ? `the number ${text} is infinite`
        : `the number ${text} is past the largest a number holds (about 1.8e308)`,
      finite,
    );
  if (v === 0 && /[1-9]/.test(text.replace(/[eE].*$/, "")))
    fail(
      file,
      lineOf(n),
      `the number ${text} is too small to hold: it would be read as 0`,
      "write 0 if 0 is meant",
    );
}

const isMergeKey = (key: unknown) => isScalar(key) && typeof key.value === "symbol";

/** The field name a key becomes in the parsed config (as the yaml library names it). */
function keyName(k: unknown): string | undefined {
  if (!isScalar(k) || typeof k.value === "symbol") return undefined;
  return k.value === null ? "" : String(k.value);
}

function checkKeys(
  pairs: readonly unknown[],
  resolve: (n: unknown) => unknown,
  file: string,
  lineOf: (n: unknown) => number | undefined,
): void {
  const seen = new Map<string, number | undefined>();
  for (const pair of pairs) {
    if (!isPair(pair)) continue;
    const line = lineOf(pair.key) ?? lineOf(pair.value);
    if (isMergeKey(pair.key)) {
      if (mergeSources(resolve, pair.value).length === 0) {
        fail(file, line, "a merge key (<<) takes a mapping, or a list of mappings, to copy here");
      }
      continue;
    }
    const name = keyName(resolve(pair.key));
    if (name === undefined) {
      fail(file, line, "a key must be a plain name, not a list or a mapping");
    }
    if (seen.has(name)) {
      const first = seen.get(name);
      const where = first === line ? "twice on this line" : `on line ${first} and again here`;
      fail(
        file,
        line,
        `the field ${JSON.stringify(name)} is set ${where}`,
        "keep one of them (YAML would keep the last without a word)",
      );
    }
    seen.set(name, line);
  }
}

/** The mappings a merge key's value copies in, in order; none when it is not such a value. */
function mergeSources(resolve: (n: unknown) => unknown, value: unknown): unknown[] {
  const v = resolve(value);
  const list = isSeq(v) ? v.items.map(resolve) : [v];
  return list.every((m) => isMap(m)) ? list : [];
}

/**
 * The node that `seg` names under `node`, aliases followed and merge keys searched as the yaml
 * library reads them (a key written in the mapping wins over a merged one; earlier merged
 * mappings over later ones). `at` is where the field is written: its key, or the list item.
 */
function childAt(
  doc: YamlDoc,
  node: unknown,
  seg: string,
  depth: number,
): { at: unknown; value: unknown } | undefined {
  if (depth > 100) return undefined;
  const resolve = (x: unknown) => (isAlias(x) ? x.resolve(doc) : x);
  const n = resolve(node);
  if (isSeq(n)) {
    const item = /^\d+$/.test(seg) ? n.items[Number(seg)] : undefined;
    return item === undefined ? undefined : { at: item, value: item };
  }
  if (!isMap(n)) return undefined;
  const own = n.items.find((p) => !isMergeKey(p.key) && keyName(resolve(p.key)) === seg);
  if (own) return { at: own.key ?? own.value, value: own.value };
  for (const p of n.items) {
    if (!isMergeKey(p.key)) continue;
    for (const source of mergeSources(resolve, p.value)) {
      const hit = childAt(doc, source, seg, depth + 1);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Reads at most MAX_CONFIG_BYTES (a device or FIFO included: it stops there). */
async function readCapped(file: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, { where: { file } });
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CONFIG_BYTES) {
        fail(
          file,
          undefined,
          `larger than ${MAX_CONFIG_BYTES} bytes; a keel config is a few kilobytes`,
          "is it the right file? Data (judgments, prompts) is named inside the config by its path",
        );
      }
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof KeelError) throw e;
    throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, { where: { file } });
  } finally {
    await handle.close();
  }
}

export async function loadYamlConfig(file: string): Promise<YamlConfig> {
  const bytes = await readCapped(file);
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    fail(file, line, "not UTF-8 text", "save the file as UTF-8");
  }
  return parseYamlConfig(bytes.toString("utf8"), file);
}
