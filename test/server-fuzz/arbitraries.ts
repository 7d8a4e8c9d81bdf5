/**
 * fast-check arbitraries for fuzzing HTTP routes: values valid under a route's JSON Schema (as
 * the route publishes it), the same values with exactly one fault (a field dropped, added,
 * retyped, over-long or unstorable) and where that fault is, whole bodies of the wrong shape,
 * raw payloads no JSON encoder would write (invalid UTF-8, lone surrogates, `__proto__` keys,
 * 1e999, nesting thousands deep), odd path parameters and query strings.
 *
 * A body is built as a value and then written as JSON text, where placeholders (`@@RAW3@@`)
 * stand for raw text JSON.stringify cannot produce or would recurse over.
 */
import fc from "fast-check";

export type Schema = Record<string, unknown>;

/** Untrusted text that would run as script if a response put it into HTML unescaped. */
export const MARK = '<img src=x onerror="alert(1)">';

export interface BodyCase {
  readonly kind: string;
  /** undefined: no body at all. */
  readonly payload?: string | Buffer;
  readonly contentType?: string;
  /** The `where.field` a 400 for this body must name (the body has exactly this one fault). */
  readonly expectField?: string;
}

const raws: string[] = [];
/** A placeholder for raw JSON text, replaced when the body is written. */
export function raw(text: string): string {
  raws.push(text);
  return `@@RAW${raws.length - 1}@@`;
}

export function writeJson(value: unknown): string {
  return JSON.stringify(value).replace(/"@@RAW(\d+)@@"/g, (_, i) => raws[Number(i)]!);
}

/** JSON text nested `depth` levels deep, written without recursion. */
export function deep(depth: number, kind: "array" | "object"): string {
  return kind === "array"
    ? `${"[".repeat(depth)}${"]".repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

export const ODD_STRINGS = [
  "",
  " ",
  "NaN",
  "-Infinity",
  "-1",
  "1e999",
  "0x1f",
  "null",
  "..",
  "../../etc/passwd",
  "😀",
  "é\u0301",
  "\u202egnp.exe",
  MARK,
  "%00",
  "x".repeat(300),
] as const;

/** A string a store cannot keep (see src/server/http/strings.ts). */
export const UNSTORABLE = ["\ud800", "a\udfffb", "a\u0000b"] as const;

const wrongValues = new Map<number, fc.Arbitrary<unknown>>();

/** What stands where a field's value should: other types, extremes, odd and huge strings. */
export function wrongValue(limit: number): fc.Arbitrary<unknown> {
  const known = wrongValues.get(limit);
  if (known) return known;
  const arb = makeWrongValue(limit);
  wrongValues.set(limit, arb);
  return arb;
}

function makeWrongValue(limit: number): fc.Arbitrary<unknown> {
  // As deep as fits in the route's body limit with room for the rest of the body.
  const room = Math.max(64, limit - 512);
  const arrays = Math.min(100_000, Math.floor(room / 2));
  const objects = Math.min(100_000, Math.floor(room / 6));
  return fc.oneof(
    fc.constantFrom<unknown>(null, true, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, [], {}, [[]]),
    fc.constantFrom<unknown>(...ODD_STRINGS),
    fc.constantFrom(
      raw("1e999"),
      raw("-1e999"),
      raw("-0"),
      raw("1E2"),
      raw("123456789012345678901234567890"),
    ),
    fc.constantFrom(
      raw(deep(arrays, "array")),
      raw(deep(objects, "object")),
      raw(deep(64, "array")),
    ),
    fc.constant("y".repeat(Math.min(limit, 200_000))),
  );
}

/** A value valid under `schema` (the subset of JSON Schema that keel's routes publish). */
export function validOf(schema: Schema): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as Schema[]).map(validOf));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.type))
    return fc.oneof(...(schema.type as string[]).map((type) => validOf({ ...schema, type })));
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  const exMin = schema.exclusiveMinimum as number | undefined;
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({
        min: exMin !== undefined ? exMin + 1 : (min ?? -1000),
        max: max ?? 1000,
      });
    case "number":
      return fc.double({
        min: exMin !== undefined ? exMin + 1e-6 : (min ?? -1000),
        max: max ?? 1000,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "string":
      return stringOf(schema);
    case "array": {
      const minLength = (schema.minItems as number | undefined) ?? 0;
      const maxLength = Math.min((schema.maxItems as number | undefined) ?? 3, minLength + 2);
      return fc.array(validOf((schema.items as Schema | undefined) ?? {}), {
        minLength,
        maxLength,
      });
    }
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const arbs = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, validOf(s)]));
      return fc.record(arbs, { requiredKeys: required.filter((k) => k in arbs) });
    }
    default:
      return fc.constantFrom<unknown>("any", 1, null);
  }
}

function stringOf(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = Math.min((schema.maxLength as number | undefined) ?? 24, minLength + 24);
  const patterns = [
    schema.pattern,
    ...((schema.allOf ?? []) as Schema[]).map((s) => s.pattern),
  ].filter((p): p is string => typeof p === "string");
  const fits = (s: string) =>
    s.length >= minLength &&
    s.length <= maxLength &&
    patterns.every((p) => new RegExp(p, "u").test(s));
  // An id-like pattern is drawn from; others (the "no control characters" kind) filter words.
  const own = patterns.find((p) => /^\^\[[^\]]+\][{+*]/.test(p));
  const base = own
    ? fc.stringMatching(new RegExp(own, "u"), { size: "small" })
    : fc.string({ minLength, maxLength, unit: "grapheme-ascii" });
  const plain = "a".repeat(Math.max(1, minLength));
  return fits(plain) ? fc.oneof(base.filter(fits), fc.constant(plain)) : base.filter(fits);
}

type Path = readonly (string | number)[];
type Container = Record<string | number, unknown>;

/** Every object and array in `value`, with its path. */
function containersIn(value: unknown, path: Path = []): [Path, Container][] {
  if (typeof value !== "object" || value === null) return [];
  const out: [Path, Container][] = [[path, value as Container]];
  for (const [k, v] of Object.entries(value))
    out.push(...containersIn(v, [...path, Array.isArray(value) ? Number(k) : k]));
  return out;
}

const fieldOf = (path: Path) => ["body", ...path].join(".");

function at(root: unknown, path: Path): Container {
  let x = root as Container;
  for (const k of path) x = x[k] as Container;
  return x;
}

/** Does any string in `v`, key or value, hold a lone surrogate or a NUL? */
export function unstorable(v: unknown): boolean {
  const bad = (s: string) =>
    !(s as unknown as { isWellFormed(): boolean }).isWellFormed() || s.includes("\u0000");
  if (typeof v === "string") return bad(v);
  if (typeof v !== "object" || v === null) return false;
  return Object.entries(v).some(([k, x]) => bad(k) || unstorable(x));
}

/**
 * A valid body with one fault and where it is: a key dropped, a key added, or a value (of an
 * object or an array) replaced. `invalid(body)` (the route's own schema, via Ajv) decides
 * whether the result is still valid, in which case no field is expected.
 */
export function oneFault(
  base: unknown,
  limit: number,
  invalid: (body: unknown) => boolean,
): fc.Arbitrary<BodyCase> {
  const all = containersIn(base);
  const objects = all.filter(([, c]) => !Array.isArray(c));
  const keyed = objects.filter(([, c]) => Object.keys(c).length > 0);
  const filled = all.filter(([, c]) => Object.keys(c).length > 0);
  const json = (kind: string, body: unknown, path: Path): BodyCase => ({
    kind,
    payload: writeJson(body),
    contentType: "application/json",
    ...(invalid(body) || unstorable(body) ? { expectField: fieldOf(path) } : {}),
  });
  const arbs: fc.Arbitrary<BodyCase>[] = [];
  if (keyed.length > 0)
    arbs.push(
      fc
        .constantFrom(...keyed.flatMap(([p, c]) => Object.keys(c).map((k) => [...p, k])))
        .map((path) => {
          const body = structuredClone(base);
          delete at(body, path.slice(0, -1))[path.at(-1)!];
          return json("drop", body, path);
        }),
    );
  if (objects.length > 0)
    arbs.push(
      fc
        .tuple(
          fc.constantFrom(...objects.map(([p]) => p)),
          fc.constantFrom<string>(
            "extra",
            "constructor",
            "toString",
            "__defineGetter__",
            MARK,
            "a\ud800",
          ),
        )
        .filter(([p, k]) => !Object.hasOwn(at(base, p), k))
        .map(([p, k]) => {
          const body = structuredClone(base);
          at(body, p)[k] = 1;
          return json("extra", body, [...p, k]);
        }),
    );
  if (filled.length > 0)
    arbs.push(
      fc
        .tuple(
          fc.constantFrom(
            ...filled.flatMap(([p, c]) =>
              Object.keys(c).map((k) => [...p, Array.isArray(c) ? Number(k) : k]),
            ),
          ),
          fc.oneof(wrongValue(limit), fc.constantFrom<unknown>(...UNSTORABLE)),
        )
        .map(([path, v]) => {
          const body = structuredClone(base);
          at(body, path.slice(0, -1))[path.at(-1)!] = v;
          return json("retype", body, path);
        }),
    );
  return arbs.length > 0
    ? fc.oneof(...arbs)
    : fc.constant({ kind: "valid", payload: writeJson(base), contentType: "application/json" });
}

/** Bodies no well-behaved client sends: wrong shapes, broken JSON, wrong content types. */
export function oddBody(valid: unknown, limit: number): fc.Arbitrary<BodyCase> {
  const text = writeJson(valid);
  const shapes = fc
    .constantFrom<unknown>(
      [],
      [valid],
      "a string",
      0,
      true,
      raw(deep(Math.max(2, Math.min(200_000, Math.floor(limit / 2) - 2)), "array")),
    )
    .map(
      (v): BodyCase => ({ kind: "shape", payload: writeJson(v), contentType: "application/json" }),
    );
  const rawText = fc
    .constantFrom(
      "",
      "{",
      '{"a":',
      "\uFEFF{}",
      "null",
      "1e999",
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '{"a":"\\ud800"}',
      '{"a":1,"a":2}',
      `${text.slice(0, -1)},"__proto__":{"x":1}}`,
      text.replace(/"([^"\\]*)"/, '"$1\\ud83d"'),
    )
    .map((p): BodyCase => ({ kind: "raw", payload: p, contentType: "application/json" }));
  const bytes = fc
    .constantFrom(
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"a":"\xff\xfe"}
      Buffer.from([0xc3, 0x28]),
      Buffer.concat([
        Buffer.from(text.slice(0, -1)),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from("}"),
      ]),
    )
    .map((p): BodyCase => ({ kind: "bytes", payload: p, contentType: "application/json" }));
  const types = fc
    .constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
      "application/jsonx",
      "text/html",
    )
    .map((ct): BodyCase => ({ kind: "content-type", payload: text, contentType: ct }));
  const none = fc.constantFrom<BodyCase>(
    { kind: "none" },
    { kind: "none-typed", contentType: "application/json" },
    { kind: "untyped", payload: text },
  );
  return fc.oneof(shapes, rawText, bytes, types, none);
}

/** A path parameter: one of `good` (real ids) or something odd, raw or percent-encoded. */
export function paramValue(good: readonly string[]): fc.Arbitrary<string> {
  const odd = fc.constantFrom(
    "..",
    "%2e%2e",
    "a%2Fb",
    "%2F",
    "%00",
    "%ff",
    "%",
    "%zz",
    "%E2%80%AE",
    encodeURIComponent("😀"),
    encodeURIComponent(MARK),
    encodeURIComponent("é"),
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "x".repeat(129),
    "x".repeat(257),
    "x".repeat(5000),
    "p1%20",
    "p1;x=1",
    "p1.json",
    "-",
    ":",
    "A".repeat(22),
  );
  return good.length > 0 ? fc.oneof(fc.constantFrom(...good), odd) : odd;
}

/** A query string: none, repeated or odd keys, odd values. */
export function queryString(keys: readonly string[], good: Record<string, string>) {
  const key = fc.constantFrom(...keys, "__proto__", "constructor", "x", "a[b]", "%ff", MARK);
  const value = fc.oneof(
    fc.constantFrom(...Object.values(good), "", "-1", "NaN", "1e999", "99999999999999999999"),
    fc.constantFrom("%00", "%ff", encodeURIComponent(MARK), "x".repeat(2000), "a&b=c"),
  );
  return fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((pairs) =>
      pairs.length === 0
        ? ""
        : `?${pairs.map(([k, v]) => `${k.startsWith("%") ? k : encodeURIComponent(k)}=${v}`).join("&")}`,
    );
}
