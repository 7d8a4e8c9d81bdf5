/**
 * JSON has no infinite numbers, but JSON.parse reads one past the largest double (1e999) as
 * Infinity, which JSON.stringify then writes as null: a value passed on would change unseen.
 */

/**
 * The path ("env_vars.N") of the first ±Infinity in parsed JSON, in document order, or
 * undefined. Walked without recursion: JSON may nest deeper than the stack.
 */
export function infiniteNumberAt(value: unknown): string | undefined {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: "" }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === "number" && !Number.isFinite(v)) return path;
    if (typeof v !== "object" || v === null) continue;
    const entries = Object.entries(v);
    for (let k = entries.length - 1; k >= 0; k--) {
      const [key, child] = entries[k]!;
      stack.push({ v: child, path: path === "" ? key : `${path}.${key}` });
    }
  }
  return undefined;
}
