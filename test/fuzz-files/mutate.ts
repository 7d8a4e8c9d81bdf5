/**
 * Seeded mutations of the files keel reads from its users. Each mutator takes a valid file's
 * bytes and returns other bytes, by one of two kinds of change:
 * - byte level: truncate, flip a bit, insert or delete bytes, invalid UTF-8, NUL, BOM, CRLF,
 *   duplicate, drop or swap lines, one extremely long line;
 * - structure level (JSON lines and YAML): a value swapped for another type, a number like
 *   1e309 or -0, "NaN" as text, a huge array, deep nesting, a duplicate key, a `__proto__` key,
 *   an unknown field, a field removed; for YAML, anchors and aliases (a bomb), tags, merges,
 *   more documents.
 * Sizes are bounded (a long line is a few hundred kilobytes; a huge array 20,000 entries), so a
 * case costs milliseconds and a reader that went quadratic would show as a slow test, not a hang.
 */

/** mulberry32: a small, fast, seeded generator (tests only; keel's own RNG is in core/rng.ts). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
export const int = (r: Rand, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Bytes a mutation likes to insert: structure, line ends, and the starts of bad UTF-8. */
const SPICY = [0x00, 0x0a, 0x0d, 0x22, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x5c, 0x3a, 0x80, 0xc0, 0xff];

/** Sequences that are not UTF-8: a lone continuation, an overlong, a surrogate, a cut-off one. */
const BAD_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80]];

const BOM = [0xef, 0xbb, 0xbf];

function lines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, start)) {
    out.push(b.subarray(start, i));
    start = i + 1;
  }
  out.push(b.subarray(start));
  return out;
}

const joinLines = (ls: readonly Buffer[]) =>
  Buffer.concat(ls.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from([10]), l])));

/** The byte-level mutations, by name (the name goes into a failing case's label). */
export const BYTE_MUTATIONS: Readonly<Record<string, (b: Buffer, r: Rand) => Buffer>> = {
  truncate: (b, r) => b.subarray(0, int(r, b.length + 1)),
  flipBit: (b, r) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b);
    c[int(r, c.length)]! ^= 1 << int(r, 8);
    return c;
  },
  insertByte: (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from([pick(r, SPICY)]), b.subarray(at)]);
  },
  deleteBytes: (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(r, 8))]);
  },
  badUtf8: (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from(pick(r, BAD_UTF8)), b.subarray(at)]);
  },
  nul: (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from([0]), b.subarray(at)]);
  },
  bom: (b) => Buffer.concat([Buffer.from(BOM), b]),
  bomInside: (b, r) => {
    const ls = lines(b);
    const k = int(r, ls.length);
    ls[k] = Buffer.concat([Buffer.from(BOM), ls[k]!]);
    return joinLines(ls);
  },
  crlf: (b) => Buffer.from(b.toString("latin1").replace(/\n/g, "\r\n"), "latin1"),
  loneCr: (b) => Buffer.from(b.toString("latin1").replace(/\n/g, "\r"), "latin1"),
  duplicateLine: (b, r) => {
    const ls = lines(b);
    const k = int(r, ls.length);
    ls.splice(k, 0, ls[k]!);
    return joinLines(ls);
  },
  dropLine: (b, r) => {
    const ls = lines(b);
    ls.splice(int(r, ls.length), 1);
    return joinLines(ls);
  },
  swapLines: (b, r) => {
    const ls = lines(b);
    const i = int(r, ls.length);
    const j = int(r, ls.length);
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    return joinLines(ls);
  },
  longLine: (b, r) => {
    const ls = lines(b);
    const k = int(r, ls.length);
    const filler = pick(r, ["x", "é", '"', "\\", " ", ","]);
    ls[k] = Buffer.concat([ls[k]!, Buffer.from(filler.repeat(100_000 + int(r, 100_000)))]);
    return joinLines(ls);
  },
  blankLines: (b, r) => {
    const ls = lines(b);
    ls.splice(int(r, ls.length + 1), 0, Buffer.from(pick(r, ["", "   ", "\t", "\r"])));
    return joinLines(ls);
  },
  empty: () => Buffer.alloc(0),
};

/** A JSON text spelt so that JSON.stringify cannot make it: spelt in place of a value. */
const RAW_VALUES = [
  "1e309",
  "-1e309",
  "-0",
  '"NaN"',
  '"Infinity"',
  "1e-400",
  "123456789012345678901234567890",
  "0.1e1",
  '"\\ud800"',
  '"\\u0000"',
  '"\\u001b[31m"',
  '"\\u202e"',
  "null",
  "true",
  "false",
  "[]",
  "{}",
  '""',
  '"a"',
  "0",
  "-1",
  "1.5",
  '{"__proto__": {"x": 1}}',
  '{"\\u005f_proto__": 1}',
  '[{"role": "user"}]',
  '[{"role": "user", "content": "x", "extra": 1}]',
];

/** A value that costs something to read: deep nesting or a long array (bounded). */
function heavyValue(r: Rand): string {
  switch (int(r, 4)) {
    case 0: {
      const d = 1000 + int(r, 20_000);
      return `${"[".repeat(d)}${"]".repeat(d)}`;
    }
    case 1: {
      const d = 1000 + int(r, 20_000);
      return `${'{"a":'.repeat(d)}1${"}".repeat(d)}`;
    }
    case 2:
      return `[${Array.from({ length: 20_000 }, (_, i) => i).join(",")}]`;
    default:
      return JSON.stringify("y".repeat(1_100_000));
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths to every value in `v` (the root included). */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(v)) for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const MARK = "\u0001keel-fuzz-mark\u0001";

/** `v` as JSON with the value at `path` replaced by the raw text `raw`. */
function withRaw(v: Json, path: readonly (string | number)[], raw: string): string {
  if (path.length === 0) return raw;
  const copy = structuredClone(v) as Json;
  let node = copy as Record<string | number, Json>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, Json>;
  node[path[path.length - 1]!] = MARK;
  return JSON.stringify(copy).replace(JSON.stringify(MARK), raw);
}

/** Structure-level mutations of one JSON value (a line of a JSONL file, or a JSON file). */
export function mutateJsonText(text: string, r: Rand): string {
  let v: Json;
  try {
    v = JSON.parse(text) as Json;
  } catch {
    return text;
  }
  const all = paths(v);
  const objects = all.filter((p) => {
    const x = p.reduce<Json>((n, s) => (n as Record<string | number, Json>)[s]!, v);
    return x !== null && typeof x === "object" && !Array.isArray(x);
  });
  const path = pick(r, all);
  switch (int(r, 7)) {
    case 0:
    case 1:
      return withRaw(v, path, pick(r, RAW_VALUES));
    case 2:
      return withRaw(v, path, heavyValue(r));
    case 3: {
      // A key written twice, or a reserved or unknown key, added to an object.
      if (objects.length === 0) return withRaw(v, path, pick(r, RAW_VALUES));
      const obj = pick(r, objects);
      const here = withRaw(v, obj, MARK);
      const inner = JSON.stringify(
        obj.reduce<Json>((n, s) => (n as Record<string | number, Json>)[s]!, v),
      );
      const keys = Object.keys(JSON.parse(inner) as object);
      const extraKey = pick(r, [...keys, "__proto__", "constructor", "extra", "toString", ""]);
      const extra = `${JSON.stringify(extraKey)}:${pick(r, RAW_VALUES)}`;
      const body = inner === "{}" ? `{${extra}}` : `{${extra},${inner.slice(1)}`;
      return here.replace(JSON.stringify(MARK), body);
    }
    case 4: {
      // A key removed.
      if (objects.length === 0) return text;
      const p = pick(r, objects);
      const obj = p.reduce<Json>((n, s) => (n as Record<string | number, Json>)[s]!, v) as Record<
        string,
        Json
      >;
      const keys = Object.keys(obj);
      if (keys.length === 0) return text;
      const rest = { ...obj };
      delete rest[pick(r, keys)];
      return withRaw(v, p, JSON.stringify(rest));
    }
    case 5: {
      // A string value's type changed (a number as text, text as a number, a list for a text).
      const s = all.filter(
        (p) =>
          typeof p.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k]!, v) === "string",
      );
      if (s.length === 0) return withRaw(v, path, '"1"');
      return withRaw(v, pick(r, s), pick(r, ["1", "[]", '["x"]', "{}", "null", "true"]));
    }
    default:
      // The line is no longer one object: an array, a scalar, two objects.
      return pick(r, [
        `[${text}]`,
        `${text}${text}`,
        `${text},`,
        '"x"',
        "null",
        "42",
        `{"a":${text}`,
      ]);
  }
}

/** Mutates one random line of a JSONL file structurally. */
export function mutateJsonlStructure(b: Buffer, r: Rand): Buffer {
  const ls = lines(b);
  const candidates = ls.map((_l, i) => i).filter((i) => ls[i]!.toString().trim() !== "");
  if (candidates.length === 0) return b;
  const k = pick(r, candidates);
  ls[k] = Buffer.from(mutateJsonText(ls[k]!.toString(), r));
  return joinLines(ls);
}

/** A YAML-specific mutation of a config's text. */
export function mutateYaml(text: string, r: Rand): string {
  const ls = text.split("\n");
  const k = int(r, ls.length);
  const indent = /^\s*/.exec(ls[k] ?? "")![0];
  const inserts = [
    `${indent}__proto__: { polluted: true }`,
    `${indent}constructor: 1`,
    `${indent}seed: 1e309`,
    `${indent}seed: .nan`,
    `${indent}seed: -.inf`,
    `${indent}seed: 0x1F`,
    `${indent}seed: !!binary aGVsbG8=`,
    `${indent}seed: !!timestamp 2001-12-14`,
    `${indent}seed: !!js/function "function(){}"`,
    `${indent}seed: &a [1, 2]`,
    `${indent}x: *nope`,
    `${indent}<<: *nope`,
    `${indent}<<: 5`,
    `${indent}? [a, b]\n${indent}: 1`,
    "---\nseed: 2",
    "%YAML 1.1\n---",
    `${indent}\tbad: tab`,
    `${indent}a: b: c`,
    `${indent}"unterminated: 1`,
    `${indent}x: ${"[".repeat(3000)}${"]".repeat(3000)}`,
    `${indent}x: ${"{a: ".repeat(2000)}1${"}".repeat(2000)}`,
    billionLaughs(3 + int(r, 6)),
    `${indent}x: &self { a: *self }`,
    `${indent}x: "${"z".repeat(200_000)}"`,
  ];
  switch (int(r, 4)) {
    case 0:
      ls.splice(k, 0, pick(r, inserts));
      return ls.join("\n");
    case 1: {
      // A key written twice: this line again.
      if (/^\s*[\w-]+:/.test(ls[k] ?? "")) ls.splice(k, 0, ls[k]!);
      return ls.join("\n");
    }
    case 2: {
      // A value swapped for another type.
      const m = /^(\s*[\w-]+:)\s*(.*)$/.exec(ls[k] ?? "");
      if (!m) return text;
      ls[k] =
        `${m[1]} ${pick(r, ["", "null", "~", "[]", "{}", "-1", "0", "1e309", "true", "yes", '"7"', "1_000", "[1, [2]]", "{a: 1}", "x"])}`;
      return ls.join("\n");
    }
    default:
      return pick(r, inserts);
  }
}

function billionLaughs(levels: number): string {
  const out = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i <= levels; i++) {
    const ref = `*l${i - 1}`;
    out.push(`l${i}: &l${i} [${Array(9).fill(ref).join(", ")}]`);
  }
  return out.join("\n");
}

/** One mutation of `b` drawn with `r`: its name and the mutated bytes. */
export function mutate(
  b: Buffer,
  r: Rand,
  kind: "jsonl" | "csv" | "yaml" | "json" | "bytes",
): { name: string; bytes: Buffer } {
  const structural = kind !== "bytes" && kind !== "csv" && r() < 0.5;
  if (structural) {
    if (kind === "yaml") return { name: "yaml", bytes: Buffer.from(mutateYaml(b.toString(), r)) };
    if (kind === "json")
      return { name: "json", bytes: Buffer.from(mutateJsonText(b.toString(), r)) };
    return { name: "jsonl", bytes: mutateJsonlStructure(b, r) };
  }
  const names = Object.keys(BYTE_MUTATIONS);
  let out = b;
  const applied: string[] = [];
  // Mostly one change, sometimes a few (a BOM and CRLF and a bad byte together).
  const n = r() < 0.7 ? 1 : 2 + int(r, 2);
  for (let i = 0; i < n; i++) {
    const name = pick(r, names);
    applied.push(name);
    out = BYTE_MUTATIONS[name]!(out, r);
  }
  return { name: applied.join("+"), bytes: out };
}
