/**
 * Canonical JSON: object keys sorted by UTF-16 code unit order, no whitespace, `undefined`
 * members omitted, numbers in JavaScript's shortest round-trip form. Two equal values always
 * encode to the same bytes, which is what hashing needs. Otherwise it reads values as
 * `JSON.stringify` does: a `toJSON` method (a Date's) gives the value encoded, and an array's
 * holes and `undefined` items are `null`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      // Without this a Date would encode as {}, so every Date would hash alike.
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return canonicalJson(toJSON.call(value) ?? null);
      // Array.from visits holes (map skips them, which would leave "[1,,3]", not JSON).
      if (Array.isArray(value))
        return `[${Array.from(value, (v) => canonicalJson(v ?? null)).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}

/**
 * Strings in UTF-16 code-unit order, as `sort()` and canonical JSON order them: the same on
 * every machine, where `localeCompare` follows the process's locale (LANG, LC_ALL).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
