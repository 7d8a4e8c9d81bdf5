/** Durations in progress lines: never "8m60s" or "60s" from rounding at a boundary. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fmtCount, fmtDuration, Progress } from "../../src/cli/progress.js";

describe("fmtDuration", () => {
  it("formats seconds, minutes and hours", () => {
    expect(fmtDuration(3.21)).toBe("3.2s");
    expect(fmtDuration(42.4)).toBe("42s");
    expect(fmtDuration(125)).toBe("2m05s");
    expect(fmtDuration(3 * 3600 + 7 * 60)).toBe("3h07m");
    expect(fmtDuration(Number.POSITIVE_INFINITY)).toBe("?");
  });

  it("carries a rounded-up second or minute into the next unit", () => {
    expect(fmtDuration(9.97)).toBe("10s");
    expect(fmtDuration(59.7)).toBe("1m00s");
    expect(fmtDuration(539.6)).toBe("9m00s");
    expect(fmtDuration(3599.8)).toBe("1h00m");
    expect(fmtDuration(7199.9)).toBe("2h00m");
  });
});

describe("Progress", () => {
  /** What a progress bar drew on a terminal `columns` wide, its clock in ms. */
  function recorder(columns: number) {
    let out = "";
    const stream = {
      columns,
      isTTY: true,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    let clock = 0;
    return {
      stream,
      now: () => clock,
      at: (ms: number) => {
        clock = ms;
      },
      /** The last line drawn. */
      last: () => {
        const draws = out.split(/[\r\n]/).filter(Boolean);
        return draws[draws.length - 1]!.replace("\u001b[K", "");
      },
    };
  }

  function drawn(columns: number): string {
    const r = recorder(columns);
    const p = new Progress({
      label: "import judgments",
      total: 1_000_000,
      unit: "records",
      stream: r.stream,
      now: r.now,
    });
    p.update(0);
    r.at(5000);
    p.update(54_500);
    return r.last();
  }

  it("narrows its bar so that the counts and the ETA fit the terminal", () => {
    const line = "5.5% 54.5k/1.00M records 10.9k/s ETA 1m27s";
    expect(drawn(120)).toBe(`import judgments [#${"-".repeat(23)}] ${line}`);
    // A pseudo-terminal that reports a width of 0 is drawn whole (it lost its last character).
    expect(drawn(0)).toBe(drawn(120));
    const narrow = drawn(80);
    expect(narrow.length).toBeLessThan(80);
    expect(narrow).toMatch(/^import judgments \[#*-+\] /);
    expect(narrow.endsWith(line)).toBe(true);
    expect(drawn(60)).toBe(`import judgments ${line}`);
  });

  it("gives no ETA from the first second's rate", () => {
    const r = recorder(120);
    const p = new Progress({ label: "x", total: 100, stream: r.stream, now: r.now });
    r.at(500);
    p.update(1);
    expect(r.last()).toMatch(/ETA \?$/);
    r.at(2000);
    p.update(10);
    // 9 more in the 1.5 s since the first update: 6/s, 90 to go.
    expect(r.last()).toMatch(/ 6\/s ETA 15s$/);
  });

  it("gives no ETA from the average since the start, which counts start-up", () => {
    const r = recorder(120);
    const p = new Progress({ label: "verify", total: 1000, stream: r.stream, now: r.now });
    r.at(3000);
    p.update(10); // the first update, after 3 s of start-up: 3.3/s on average
    expect(r.last()).toMatch(/ 3\.3\/s ETA \?$/);
    r.at(3400);
    p.update(50); // 40 in 0.4 s
    expect(r.last()).toMatch(/ 100\/s ETA 9\.5s$/);
  });

  it("leaves start-up out of the rate, then follows the last 10–20 s", () => {
    // A trainer: 5 s to load and compile before the first step, then 2 steps a second.
    const r = recorder(120);
    const p = new Progress({
      label: "train rm",
      total: 600,
      unit: "steps",
      stream: r.stream,
      now: r.now,
    });
    r.at(5000);
    p.update(1);
    for (let s = 2; s <= 41; s++) {
      r.at(5000 + (s - 1) * 500);
      p.update(s);
    }
    // Since the start it would be 41 steps in 25 s (1.6/s, ETA 5m41s).
    expect(r.last()).toMatch(/ 2\/s ETA 4m40s$/);
    // The pace halves; within 20 s the rate is the new one alone.
    let t = 25_000;
    for (let s = 42; s <= 62; s++) {
      t += 1000;
      r.at(t);
      p.update(s);
    }
    expect(r.last()).toMatch(/ 1\/s ETA 8m58s$/);
  });

  it("shows an ETA of 0, not a negative one, past a total that was an estimate", () => {
    const r = recorder(120);
    const p = new Progress({ label: "import", total: 100, stream: r.stream, now: r.now });
    r.at(1000);
    p.update(10);
    r.at(3000);
    p.update(140); // more records than the lines counted ahead
    expect(r.last()).toMatch(/ 100\.0% 140\/100 items 65\/s ETA 0\.0s$/);
  });
});

describe("Progress on a wall clock stepped back", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps drawing, and keeps its rate, when the date is set back an hour", () => {
    // Date and performance both faked: advancing moves both, setSystemTime the date alone.
    vi.useFakeTimers({ toFake: ["Date", "performance"], now: Date.UTC(2026, 2, 1) });
    let out = "";
    const stream = {
      columns: 120,
      isTTY: true,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const p = new Progress({ label: "import", total: 1000, stream });
    vi.advanceTimersByTime(2000);
    p.update(100);
    vi.advanceTimersByTime(1000);
    p.update(200);
    vi.setSystemTime(Date.now() - 3_600_000); // NTP, or someone fixing the date
    vi.advanceTimersByTime(1000);
    out = "";
    p.update(300);
    // 200 more in the 2 s since the first update: 100/s, 700 to go. On the wall clock the
    // draw was skipped (an hour before the last one) and the rate had no time to run over.
    expect(out).toMatch(/ 300\/1000 items 100\/s ETA 7\.0s/);
  });
});

describe("Progress.finish", () => {
  it("ends the bar once, however often it is called, and draws nothing after", () => {
    let out = "";
    const stream = {
      columns: 80,
      isTTY: true,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    let clock = 1000;
    const p = new Progress({ label: "import", total: 10, stream, now: () => clock });
    p.update(10);
    p.finish();
    const once = out;
    clock = 5000;
    p.finish();
    p.update(10);
    expect(out).toBe(once);
    expect(out.match(/\n/g)).toHaveLength(1);
  });
});

describe("Progress on the process's own streams", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("draws on standard error only, so that --json output on standard output stays clean", () => {
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const p = new Progress({ label: "import", total: 10, enabled: true, now: () => 1000 });
    p.update(5);
    p.finish();
    expect(out).not.toHaveBeenCalled();
    expect(err).toHaveBeenCalled();
  });

  it("draws only on a terminal unless told to", () => {
    const stream = { isTTY: false, columns: 80, write: vi.fn(() => true) };
    const p = new Progress({
      label: "import",
      total: 10,
      stream: stream as unknown as NodeJS.WriteStream,
      now: () => 1000,
    });
    p.update(5);
    p.finish();
    expect(stream.write).not.toHaveBeenCalled();
  });
});

describe("fmtCount", () => {
  it("moves to the next unit where rounding would reach it", () => {
    expect(fmtCount(99.96)).toBe("100");
    expect(fmtCount(9_999.6)).toBe("10.0k");
    expect(fmtCount(999_949)).toBe("999.9k");
    expect(fmtCount(999_960)).toBe("1.00M");
    expect(fmtCount(12.34)).toBe("12.3");
    expect(fmtCount(Number.NaN)).toBe("?");
  });
});
