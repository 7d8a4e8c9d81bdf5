/**
 * A progress bar on stderr for long work: done/total, recent rate, ETA. It draws only when
 * stderr is a terminal (or when forced), at most ten times a second, and never writes to stdout,
 * so `--json` output stays clean.
 */
export interface ProgressOptions {
  readonly label: string;
  readonly total?: number;
  readonly unit?: string;
  readonly enabled?: boolean;
  readonly stream?: NodeJS.WriteStream;
  /**
   * Clock in milliseconds (tests pin it); by default the monotonic `performance.now`, since the
   * wall clock may be stepped back (NTP, a suspended laptop, a changed date) in a long import.
   */
  readonly now?: () => number;
}

const BAR_WIDTH = 24;
const RATE_WINDOW_MS = 10_000;
const MIN_BAR_WIDTH = 8;

export class Progress {
  private done = 0;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private finished = false;
  private readonly enabled: boolean;
  private readonly stream: NodeJS.WriteStream;
  private total: number | undefined;
  /**
   * Two marks (time, amount done) for the rate: the older one is where the rate is measured
   * from, the newer one replaces it ten seconds later. The first mark is the first update, so
   * start-up (loading, compiling graphs) does not count; once running, the rate is that of the
   * last 10–20 seconds, which follows a change of pace. The ETA comes from that rate only.
   */
  private from: { t: number; done: number } | undefined;
  private next: { t: number; done: number } | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.stream = opts.stream ?? process.stderr;
    this.enabled = opts.enabled ?? Boolean(this.stream.isTTY);
    this.total = opts.total;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  /** Sets the absolute amount done. */
  update(done: number, extra?: string): void {
    this.done = done;
    const now = this.now();
    this.mark(now);
    if (!this.enabled || this.finished || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(extra);
  }

  tick(n = 1, extra?: string): void {
    this.update(this.done + n, extra);
  }

  /**
   * Draws the final state and ends the line, once: a command that finishes its bar and then
   * fails calls it again on the way out, which must not draw a second, stale bar.
   */
  finish(extra?: string): void {
    if (!this.enabled || this.finished) return;
    this.finished = true;
    this.draw(extra);
    this.stream.write("\n");
  }

  private mark(now: number): void {
    const here = { t: now, done: this.done };
    if (this.from === undefined) this.from = here;
    else if (this.next === undefined) {
      if (now - this.from.t >= RATE_WINDOW_MS) this.next = here;
    } else if (now - this.next.t >= RATE_WINDOW_MS) {
      this.from = this.next;
      this.next = here;
    }
  }

  /** The rate since the older mark, once that is ¼ s old (else undefined). */
  private recentRate(now: number): number | undefined {
    const f = this.from;
    if (f === undefined || now - f.t < 250) return undefined;
    return ((this.done - f.done) * 1000) / (now - f.t);
  }

  private draw(extra?: string): void {
    const now = this.now();
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    const recent = this.recentRate(now);
    // Until a recent rate exists, the average since the start is shown, but it gives no ETA:
    // it still counts start-up.
    const rate = recent ?? this.done / secs;
    const unit = this.opts.unit ?? "items";
    // A terminal that reports no width (0, as some pseudo-terminals do) is taken as 120 wide.
    const reported = this.stream.columns;
    const columns = (reported !== undefined && reported > 0 ? reported : 120) - 1;
    let line = `${this.opts.label} `;
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.min(this.done / this.total, 1);
      // Past a total that was an estimate (lines counted, records read), nothing is left: 0, not −.
      const eta =
        recent !== undefined && recent > 0 && secs >= 1
          ? Math.max(this.total - this.done, 0) / recent
          : Number.NaN;
      const text = `${(frac * 100).toFixed(1)}% ${fmtCount(this.done)}/${fmtCount(this.total)} ${unit} ${fmtCount(rate)}/s ETA ${fmtDuration(eta)}`;
      // The bar gives way on a narrow terminal, so that the counts and the ETA stay whole.
      const width = Math.min(BAR_WIDTH, columns - line.length - text.length - 3);
      if (width >= MIN_BAR_WIDTH) {
        const filled = Math.round(frac * width);
        line += `[${"#".repeat(filled)}${"-".repeat(width - filled)}] `;
      }
      line += text;
    } else {
      line += `${fmtCount(this.done)} ${unit} ${fmtCount(rate)}/s ${fmtDuration(secs)}`;
    }
    if (extra) line += ` ${extra}`;
    this.stream.write(`\r${line.slice(0, columns)}\u001b[K`);
  }
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return "?";
  // The thresholds are where the smaller unit would round up to the next (never "1000.0k").
  if (n >= 999_950) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 9_999.5) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 99.95 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

export function fmtDuration(secs: number): string {
  if (!Number.isFinite(secs)) return "?";
  if (secs < 9.95) return `${secs.toFixed(1)}s`;
  const whole = Math.round(secs);
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  const mins = Math.round(secs / 60);
  return `${Math.floor(mins / 60)}h${String(mins % 60).padStart(2, "0")}m`;
}
