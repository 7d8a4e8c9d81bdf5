/**
 * Task distribution for one project: who is served which comparison next.
 *
 * - Overlap: a task comparison is served until `overlap` raters have judged it; live leases
 *   count toward the overlap, so at most `overlap − judged` raters hold it at once.
 * - Order: comparisons go out in the project's item order, each rater walking the list with
 *   their own cursor, so comparisons are completed one after another rather than spread thin.
 *   The cursor passes an item once the rater has judged or skipped it or it is complete.
 * - Gold: each time a rater is served, with probability `gold_rate` (a seeded coin per rater and
 *   number of tasks they have judged or skipped) the task is a gold comparison the rater has
 *   not seen, taken in a per-rater seeded order; gold comparisons are not limited by the overlap. Gold and ordinary tasks are
 *   served by the same code, with the same payload, ids and leases. When no ordinary task is
 *   left, no gold is served either (a gold-only tail would single gold items out).
 * - One task at a time: a rater holding a live lease is served that task again.
 *
 * State is loaded from the store on first use (judgment counts per comparison; per rater, what
 * they judged or skipped and their gold record) and kept current by this process's commits.
 * With a lease store shared by several processes (`SharedJudgmentCounts`), the counts of every
 * process live in that store and the overlap is checked there, atomically with the lease
 * (see shared-counts.ts).
 */
import { Rng } from "../../core/rng.js";
import type { Choice } from "../../core/types.js";
import {
  type CollectionDb,
  countItems,
  getProject,
  type ItemInfo,
  judgedCounts,
  listItems,
  type Project,
} from "../../store/collection/index.js";
import { type Lease, type LeaseStore, releaseHeld, sharesJudgments } from "./leases.js";
import { loadRater, type RaterScope, type RaterState, recordJudgment } from "./rater-state.js";
import { SharedCounts } from "./shared-counts.js";
import type { TaskIds } from "./task-id.js";
import { TextCache, type Texts } from "./texts.js";

export { GOLD_COUNT_DELAY_MAX, type RaterState } from "./rater-state.js";
export type { Texts } from "./texts.js";

export class ProjectQueue implements RaterScope {
  readonly tasks: ItemInfo[] = [];
  readonly gold: ItemInfo[] = [];
  readonly quiz: ItemInfo[] = [];
  readonly items = new Map<string, ItemInfo>();
  readonly judged = new Map<string, number>();
  private readonly raters = new Map<string, Promise<RaterState | undefined>>();
  /** Position of each item in its list (tasks, gold or quiz). */
  private readonly index = new Map<string, number>();
  private readonly texts: TextCache;
  /** The counts of every process, with a lease store they share (see shared-counts.ts). */
  private readonly shared: SharedCounts | undefined;

  private settings: Project;

  constructor(
    project: Project,
    private readonly db: CollectionDb,
    private readonly leases: LeaseStore,
    readonly ids: TaskIds,
  ) {
    this.settings = project;
    this.texts = new TextCache(db, (id) => this.listOf(id));
    this.shared = sharesJudgments(leases)
      ? new SharedCounts(leases, db, project.project_id, (id, n) => this.sawJudged(id, n))
      : undefined;
  }

  get project(): Project {
    return this.settings;
  }

  /**
   * New settings (changed through this process or seen in the store). A raised overlap reopens
   * complete items, which the raters' cursors may have passed: every cursor starts over.
   */
  set project(p: Project) {
    const reopened = p.overlap > this.settings.overlap;
    this.settings = p;
    if (reopened) this.eachRater((s) => (s.cursor = 0));
  }

  /** Applies `f` to every loaded rater's state. */
  private eachRater(f: (s: RaterState) => void): void {
    for (const r of this.raters.values()) {
      void r.then((s) => {
        if (s) f(s);
      });
    }
  }

  static async load(
    project: Project,
    db: CollectionDb,
    leases: LeaseStore,
    ids: TaskIds,
  ): Promise<ProjectQueue> {
    const q = new ProjectQueue(project, db, leases, ids);
    for (const it of await listItems(db, project.project_id)) q.addItem(it);
    for (const [id, n] of await judgedCounts(db, project.project_id)) q.judged.set(id, n);
    await q.shared?.seed(q.judged);
    return q;
  }

  /** When the queue last looked at the store for items and settings written elsewhere. */
  syncedAt = 0;

  /**
   * Catches up with what another process (another `keel serve` on the same store, or `keel
   * project add`) wrote: the project's settings, items this queue has not seen (items are only
   * ever added, so a count tells whether any are new), and the standing of loaded raters.
   */
  async syncFromStore(nowMs: number): Promise<void> {
    const pid = this.project.project_id;
    const p = await getProject(this.db, pid);
    if (p) this.project = p;
    if ((await countItems(this.db, pid)) > this.items.size)
      for (const it of await listItems(this.db, pid)) this.addItem(it);
    await this.syncMembers(nowMs);
  }

  /**
   * Catches up with the standing of the raters this process has loaded, which another process
   * may have changed (a pause, an exclusion, a reinstatement; a guidelines acknowledgement or a
   * quiz passed there): a rater whose member row is not this process's copy is reloaded on next
   * use, and one no longer active gives up the leases this process served them meanwhile.
   * Before, the copy was kept until this process restarted: a rater paused elsewhere went on
   * being served here, each task holding its comparison's slot for the whole lease, and one
   * reinstated elsewhere was refused here as paused. One query per sync of the project.
   */
  private async syncMembers(nowMs: number): Promise<void> {
    if (this.raters.size === 0) return;
    const pid = this.project.project_id;
    const rows = await this.db
      .selectFrom("project_members")
      .select(["user_id", "status", "status_at", "guidelines_ack_at", "quiz_passed_at"])
      .where("project_id", "=", pid)
      .execute();
    for (const r of rows) {
      const loading = this.raters.get(r.user_id);
      const s = await loading?.catch(() => undefined);
      if (!s || this.raters.get(r.user_id) !== loading) continue;
      const m = s.member;
      if (
        m.status === r.status &&
        m.status_at === r.status_at &&
        (m.guidelines_ack_at === null) === (r.guidelines_ack_at === null) &&
        (m.quiz_passed_at === null) === (r.quiz_passed_at === null)
      )
        continue;
      this.forget(r.user_id);
      if (r.status !== "active") await releaseHeld(this.leases, pid, r.user_id, nowMs);
    }
  }

  addItem(it: ItemInfo): void {
    if (this.items.has(it.comparison_id)) return;
    this.items.set(it.comparison_id, it);
    const list = it.kind === "quiz" ? this.quiz : it.gold !== null ? this.gold : this.tasks;
    this.index.set(it.comparison_id, list.length);
    list.push(it);
    this.eachRater((s) => (s.goldOrder = undefined));
  }

  /** The rater's state, loaded once; undefined when the user is not a member. */
  rater(userId: string): Promise<RaterState | undefined> {
    let p = this.raters.get(userId);
    if (!p) {
      p = loadRater(this, this.db, userId);
      this.raters.set(userId, p);
      p.then((s) => s ?? this.raters.delete(userId)).catch(() => this.raters.delete(userId));
    }
    return p;
  }

  /** Forgets a rater's cached state (after a status change made elsewhere). */
  forget(userId: string): void {
    this.raters.delete(userId);
  }

  /** See rater-state.ts. */
  recordJudgment(s: RaterState, comparisonId: string, choice: Choice): void {
    recordJudgment(this, s, comparisonId, choice);
  }

  /** Texts of a comparison (see texts.ts). */
  textsOf(comparisonId: string): Promise<Texts> {
    return this.texts.get(comparisonId);
  }

  /** The list (tasks, gold or quiz) an item is in, and its position there. */
  private listOf(comparisonId: string): { list: readonly ItemInfo[]; at: number } {
    const it = this.items.get(comparisonId);
    const list =
      it === undefined
        ? []
        : it.kind === "quiz"
          ? this.quiz
          : it.gold !== null
            ? this.gold
            : this.tasks;
    const at = it === undefined ? -1 : (this.index.get(comparisonId) ?? -1);
    return { list, at };
  }

  private lease(userId: string, comparisonId: string, nowMs: number): Lease {
    const pid = this.project.project_id;
    const { taskId, shownOrder } = this.ids.derive(pid, userId, comparisonId);
    return {
      taskId,
      projectId: pid,
      comparisonId,
      userId,
      shownOrder,
      issuedAt: nowMs,
      expiresAt: nowMs + this.project.lease_seconds * 1000,
    };
  }

  /** Slots a comparison still has for new leases (Infinity for gold). */
  capacity(it: ItemInfo): number {
    if (it.gold !== null) return Number.POSITIVE_INFINITY;
    return this.project.overlap - (this.judged.get(it.comparison_id) ?? 0);
  }

  /** Serves the rater's next task, or undefined when none is available to them now. */
  next(userId: string, s: RaterState, nowMs: number): Promise<Lease | undefined> {
    return this.serve(userId, s, nowMs, true);
  }

  /**
   * The task `next` would serve the rater now, its lease not taken: asking takes, ends and
   * holds nothing (see reclaim.ts). Another request may take the slot before `next` is called.
   */
  peek(userId: string, s: RaterState, nowMs: number): Promise<Lease | undefined> {
    return this.serve(userId, s, nowMs, false);
  }

  /** `next` (`take`), or `peek`: the same choice, so the two cannot disagree. */
  private async serve(
    userId: string,
    s: RaterState,
    nowMs: number,
    take: boolean,
  ): Promise<Lease | undefined> {
    // A live lease on a task the rater is done with is not served again: a process that did not
    // know the rater had judged it (the judgment went through another process after its lease
    // was forgotten) served it, and the submission was refused as a duplicate. It lapses.
    const held = (await this.leases.heldBy(this.project.project_id, userId, nowMs)).filter(
      (l) => !s.done.has(l.comparisonId),
    );
    if (held.length > 0) return held[0];
    // Advance the cursor past what this rater can never be served again.
    while (s.cursor < this.tasks.length) {
      const it = this.tasks[s.cursor]!;
      if (!s.done.has(it.comparison_id) && this.capacity(it) > 0) break;
      s.cursor++;
    }
    if (s.cursor >= this.tasks.length) return undefined;
    // The coin is numbered by the rater's outcomes, not by serves: asked again for the same
    // place in their stream (a lapsed lease, a made-up task id tried as one they are owed), the
    // rater draws the same coin and is served the same task. A new draw per serve brought an
    // ordinary task back with probability 1 − gold_rate and a gold one with gold_rate, so
    // letting a task lapse told gold apart.
    const coin = new Rng(this.ids.keyedSeed(`${this.project.seed}/gold/${userId}/${s.done.size}`));
    if (this.gold.length > 0 && coin.float() < this.project.gold_rate) {
      const got = await this.nextGold(userId, s, nowMs, take);
      if (got) return got;
    }
    return this.nextOrdinary(userId, s, nowMs, take);
  }

  /**
   * The rater's first gold item not done that a lease can be taken on, in their gold order
   * (taken when `take`). Gold is not limited by the overlap, so outside a shared store (where a
   * finished lease is never taken again) that is the first gold item not done.
   */
  private async nextGold(
    userId: string,
    s: RaterState,
    nowMs: number,
    take: boolean,
  ): Promise<Lease | undefined> {
    s.goldOrder ??= new Rng(
      this.ids.keyedSeed(`${this.project.seed}/gold-order/${userId}`),
    ).shuffle(this.gold.map((_, i) => i));
    const order = s.goldOrder;
    const gold = function* (q: ProjectQueue) {
      for (const i of order) {
        const it = q.gold[i]!;
        if (!s.done.has(it.comparison_id)) yield q.lease(userId, it.comparison_id, nowMs);
      }
    };
    if (this.shared) return this.shared.first(gold(this), Infinity, nowMs, take);
    for (const l of gold(this)) {
      const got = take ? await this.leases.acquire(l, Infinity, nowMs) : l;
      if (got) return got;
    }
    return undefined;
  }

  /** The first ordinary task from the rater's cursor on with a free slot (taken when `take`). */
  private async nextOrdinary(
    userId: string,
    s: RaterState,
    nowMs: number,
    take: boolean,
  ): Promise<Lease | undefined> {
    if (this.shared) {
      const open = function* (q: ProjectQueue) {
        for (let i = s.cursor; i < q.tasks.length; i++) {
          const it = q.tasks[i]!;
          if (!s.done.has(it.comparison_id) && q.capacity(it) > 0)
            yield q.lease(userId, it.comparison_id, nowMs);
        }
      };
      return this.shared.first(open(this), this.project.overlap, nowMs, take);
    }
    // Cheap pre-check before building a lease (an HMAC); acquire re-checks atomically. With a
    // store in this process the check is synchronous: nothing runs between it and acquire, so
    // raters answered by the same commit do not all race for the same free slot (with an await
    // there, each wasted an HMAC on ~5 lost races per serve).
    const pid = this.project.project_id;
    const now = this.leases.liveCountNow?.bind(this.leases);
    for (let i = s.cursor; i < this.tasks.length; i++) {
      const it = this.tasks[i]!;
      if (s.done.has(it.comparison_id)) continue;
      const cap = this.capacity(it);
      if (cap <= 0) continue;
      const live = now
        ? now(pid, it.comparison_id, nowMs)
        : await this.leases.liveCount(pid, it.comparison_id, nowMs);
      if (live >= cap) continue;
      // With fewer than `cap` live leases, `acquire` takes it: that is the one to peek at.
      const l = this.lease(userId, it.comparison_id, nowMs);
      const got = take ? await this.leases.acquire(l, cap, nowMs) : l;
      if (got) return got;
    }
    return undefined;
  }

  /**
   * Re-takes an expired lease for a late submission, if the slot is still free; undefined when
   * the comparison was handed to others meanwhile.
   */
  async renew(l: Lease, nowMs: number): Promise<Lease | undefined> {
    const it = this.items.get(l.comparisonId);
    if (!it) return undefined;
    const limit = this.shared && it.gold === null ? this.project.overlap : this.capacity(it);
    return this.leases.acquire(
      { ...l, expiresAt: nowMs + this.project.lease_seconds * 1000 },
      limit,
      nowMs,
    );
  }

  /** Records a committed judgment (in the shared counts too, before its lease is finished). */
  async judgedBy(s: RaterState, comparisonId: string): Promise<void> {
    this.judged.set(comparisonId, (this.judged.get(comparisonId) ?? 0) + 1);
    this.dropTextsIfComplete(comparisonId);
    s.done.add(comparisonId);
    await this.shared?.count(comparisonId);
  }

  /** Takes in a count seen in the shared store (every process's judgments; never lower). */
  private sawJudged(comparisonId: string, n: number): void {
    if (n > (this.judged.get(comparisonId) ?? 0)) {
      this.judged.set(comparisonId, n);
      this.dropTextsIfComplete(comparisonId);
    }
  }

  /**
   * A complete task comparison is served to nobody again, so its texts leave the cache at once
   * (a late submission reads them back); the cache then holds the comparisons in play, not
   * every one served since start.
   */
  private dropTextsIfComplete(comparisonId: string): void {
    const it = this.items.get(comparisonId);
    if (it?.kind === "task" && it.gold === null && this.capacity(it) <= 0)
      this.texts.delete(comparisonId);
  }

  /** Brings the local counts up to every process's (for the progress view). */
  async refreshJudged(): Promise<void> {
    await this.shared?.refresh();
  }

  /** How many task items are complete (judged by `overlap` raters). */
  completeCount(): number {
    let n = 0;
    for (const it of this.tasks)
      if ((this.judged.get(it.comparison_id) ?? 0) >= this.project.overlap) n++;
    return n;
  }
}
