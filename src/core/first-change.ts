/**
 * The first field where two JSON-like values differ (objects compared key by key, depth first,
 * in key order; anything else by its JSON text), with both values: what a refused resume names.
 * A field given on one side only counts (an optional field such as `data.eval_count`).
 */
export function firstChange(
  was: unknown,
  now: unknown,
  path: readonly string[] = [],
): { field: string; was: unknown; now: unknown } | undefined {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isMap(was) && isMap(now)) {
    for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
      const d = firstChange(was[k], now[k], [...path, k]);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(was) === JSON.stringify(now)
    ? undefined
    : { field: path.join("."), was, now };
}
