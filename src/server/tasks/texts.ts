/**
 * The texts of the comparisons a project serves, cached in this process. A miss fetches the
 * next texts of the same list too (raters walk the items in order), and fetches in flight are
 * shared, so serving costs one query per `TEXT_PREFETCH` items, not one per task.
 */
import { KeelError } from "../../core/errors.js";
import type { Content } from "../../core/types.js";
import { type CollectionDb, comparisonTexts, type ItemInfo } from "../../store/collection/index.js";

const TEXT_PREFETCH = 128;
const TEXT_CACHE = 50_000;

export interface Texts {
  readonly prompt: Content;
  readonly response_a: Content;
  readonly response_b: Content;
}

/** A comparison's list (tasks, gold or quiz) and its position there; ([], -1) if unknown. */
export type ListOf = (comparisonId: string) => { list: readonly ItemInfo[]; at: number };

export class TextCache {
  private readonly texts = new Map<string, Texts>();
  /** Fetches in flight, by each comparison they will bring: a miss joins one, never repeats it. */
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(
    private readonly db: CollectionDb,
    private readonly listOf: ListOf,
  ) {}

  /**
   * Texts of a comparison. A miss fetches the next texts of the same list too (raters walk the
   * items in order), so serving costs one query per `TEXT_PREFETCH` items, not one per task.
   * Raters arrive at the frontier of the list together: a miss on a comparison whose fetch is
   * already in flight waits for that fetch instead of starting another (without this, dozens of
   * overlapping 128-row queries ran for each stretch of the list).
   */
  async get(comparisonId: string): Promise<Texts> {
    const hit = this.texts.get(comparisonId);
    if (hit) return hit;
    const pending = this.fetching.get(comparisonId);
    if (pending) await pending;
    else await this.fetch(comparisonId);
    const t = this.texts.get(comparisonId);
    if (!t) throw new KeelError("KEEL_E_NOT_FOUND", `comparison ${comparisonId} has no texts`);
    return t;
  }

  /** Forgets a comparison's texts (one served to nobody again). */
  delete(comparisonId: string): void {
    this.texts.delete(comparisonId);
  }

  private fetch(comparisonId: string): Promise<void> {
    const { list, at } = this.listOf(comparisonId);
    const ids = [comparisonId];
    for (let i = at + 1; i < list.length && ids.length < TEXT_PREFETCH; i++) {
      const id = list[i]!.comparison_id;
      if (!this.texts.has(id) && !this.fetching.has(id)) ids.push(id);
    }
    if (this.texts.size + ids.length > TEXT_CACHE) {
      // Forget the oldest half (a Map iterates in insertion order).
      let drop = this.texts.size >> 1;
      for (const k of this.texts.keys()) {
        if (drop-- <= 0) break;
        this.texts.delete(k);
      }
    }
    const done = (async () => {
      try {
        for (const [id, t] of await comparisonTexts(this.db, ids)) this.texts.set(id, t);
      } finally {
        for (const id of ids) this.fetching.delete(id);
      }
    })();
    for (const id of ids) this.fetching.set(id, done);
    return done;
  }
}
