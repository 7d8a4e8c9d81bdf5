/**
 * Finding the key `__proto__` in parsed JSON. JSON.parse keeps it as an ordinary key, but
 * JavaScript gives it a meaning elsewhere: copied into another object (a schema rebuilding a
 * record, a spread) it sets that object's prototype instead, and the value silently disappears
 * (or a schema reports some other field as missing). Readers of user files refuse it.
 */

/**
 * The path ("prompt.0", "" for the top) of the first object in `value`, in document order, that
 * has the key `__proto__`; undefined when none has. Walked without recursion: JSON may nest
 * deeper than the stack.
 */
export function protoKeyHolder(value: unknown): string | undefined {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: "" }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (!Array.isArray(v) && Object.hasOwn(v, "__proto__")) return path;
    const entries = Object.entries(v);
    for (let k = entries.length - 1; k >= 0; k--) {
      const [key, child] = entries[k]!;
      if (typeof child === "object" && child !== null)
        stack.push({ v: child, path: path === "" ? key : `${path}.${key}` });
    }
  }
  return undefined;
}
