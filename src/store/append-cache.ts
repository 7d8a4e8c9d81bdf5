/**
 * The ledger appender's caches across batches: a bounded map that forgets its oldest half when
 * full, and the comparisons it has seen, kept with their texts so that the next judgment of one
 * is checked without digesting its texts again.
 */
import type { Content } from "../core/types.js";
import type { ComparisonRow } from "./writer.js";

/** A small insertion-ordered cache that forgets its oldest half when full. */
export class BoundedMap<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  set(k: K, v: V): void {
    if (this.map.size >= this.limit) {
      let drop = this.map.size >> 1;
      for (const key of this.map.keys()) {
        if (drop-- <= 0) break;
        this.map.delete(key);
      }
    }
    this.map.set(k, v);
  }
}

/**
 * A comparison as cached: its row, and (for plain-text contents) the texts themselves, so that
 * the usual case — the next rater's judgment of a comparison seen a moment ago — is checked
 * with three string comparisons instead of three SHA-256 digests.
 */
export interface CachedComparison {
  row: ComparisonRow;
  texts?: readonly [Content, Content, Content] | undefined;
  /**
   * For a comparison this appender created, when the writer is remote: the raters it has
   * appended judgments of and their choices (rater, choice, rater, choice, …), which are all the
   * store holds — the write transaction excludes other writers — so its pairs need no lookup.
   * Undefined for a comparison loaded from the store.
   */
  judged?: string[] | undefined;
}

/** True when the judgment names exactly the cached texts (plain strings; chat lists compare by digest). */
export function sameTexts(
  cached: readonly [Content, Content, Content],
  c: readonly [Content, Content, Content],
): boolean {
  return (
    typeof c[0] === "string" &&
    typeof c[1] === "string" &&
    typeof c[2] === "string" &&
    cached[0] === c[0] &&
    cached[1] === c[1] &&
    cached[2] === c[2]
  );
}
