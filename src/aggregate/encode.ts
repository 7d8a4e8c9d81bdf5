/**
 * Encoders: string records in, dense integer arrays out (see types.ts). Each encoder interns
 * names through a Map once and appends to growable typed arrays, so a file can be streamed
 * through `add` without ever holding its records: memory is 12 bytes per categorical judgment
 * (13 per pairwise one) plus the distinct names.
 */

import { compareText } from "../core/canonical.js";
import { Column } from "../core/column.js";
import { formatWhere, KeelError, type Where } from "../core/errors.js";
import type { CategoricalData, Outcome, PairwiseData } from "./types.js";
import { LEFT_WINS, RIGHT_WINS, TIE } from "./types.js";

/** Whether a class name reads as a finite number ("" and blanks do not). */
export function isNumericClass(name: string): boolean {
  return name.trim() !== "" && Number.isFinite(Number(name));
}

/**
 * Orders class names: by number then code unit when `numeric` (every name of the set is a
 * number), otherwise by code unit. The choice is made for the whole set: comparing two names
 * numerically whenever both happen to be numbers is not a total order over a mixed set ("9" <
 * "10" by number, "10" < "5a" < "9" by code unit), and the sort then depended on row order.
 */
export function compareClassNames(a: string, b: string, numeric: boolean): number {
  if (numeric) {
    const d = Number(a) - Number(b);
    if (d !== 0) return d;
  }
  return compareText(a, b);
}

/** Interns strings to dense indices in order of first appearance. */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];

  id(name: string): number {
    let i = this.ids.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(name, i);
      this.names.push(name);
    }
    return i;
  }

  get(name: string): number | undefined {
    return this.ids.get(name);
  }

  get size(): number {
    return this.names.length;
  }
}

export class CategoricalEncoder {
  private readonly tasks = new Interner();
  private readonly workers = new Interner();
  private readonly classes = new Interner();
  private readonly task: Column<Int32Array>;
  private readonly worker: Column<Int32Array>;
  private readonly label: Column<Int32Array>;
  private readonly goldByTask = new Map<number, number>();
  /** Where each task's gold was first given, for a conflict's message. */
  private readonly goldWhere = new Map<number, Where>();
  private readonly pendingGold: [string, string, Where | undefined][] = [];

  constructor(expected = 1024) {
    this.task = new Column(Int32Array, expected);
    this.worker = new Column(Int32Array, expected);
    this.label = new Column(Int32Array, expected);
  }

  add(task: string, worker: string, label: string): void {
    this.task.push(this.tasks.id(task));
    this.worker.push(this.workers.id(worker));
    this.label.push(this.classes.id(label));
  }

  /**
   * A known true label; gold for tasks that nobody labelled is ignored. `where` (the file and
   * line it came from) names both sides of a conflict.
   */
  addGold(task: string, label: string, where?: Where): void {
    this.pendingGold.push([task, label, where]);
  }

  get size(): number {
    return this.task.length;
  }

  finish(): CategoricalData {
    for (const [task, label, where] of this.pendingGold) {
      const t = this.tasks.get(task);
      if (t === undefined) continue;
      const c = this.classes.id(label);
      const prev = this.goldByTask.get(t);
      if (prev !== undefined && prev !== c) {
        const first = this.goldWhere.get(t);
        const at = first ? ` (${formatWhere(first)})` : "";
        throw new KeelError(
          "KEEL_E_CONFLICT",
          `two different gold labels for one task: ${JSON.stringify(label)} here, ${JSON.stringify(this.classes.names[prev]!)} before${at}`,
          { where: { ...where, id: task }, hint: "keep one gold answer per task" },
        );
      }
      this.goldByTask.set(t, c);
      if (where && !this.goldWhere.has(t)) this.goldWhere.set(t, where);
    }
    // Sort classes so that results never depend on the order rows arrive in.
    const order = this.classes.names.map((_, i) => i);
    const names = this.classes.names;
    const numeric = names.every(isNumericClass);
    order.sort((a, b) => compareClassNames(names[a]!, names[b]!, numeric));
    const remap = new Int32Array(order.length);
    order.forEach((old, rank) => {
      remap[old] = rank;
    });
    const label = this.label.finish();
    for (let j = 0; j < label.length; j++) label[j] = remap[label[j]!]!;
    let gold: Int32Array | undefined;
    if (this.goldByTask.size > 0) {
      gold = new Int32Array(this.tasks.size).fill(-1);
      for (const [t, c] of this.goldByTask) gold[t] = remap[c]!;
    }
    return {
      nTasks: this.tasks.size,
      nWorkers: this.workers.size,
      nClasses: order.length,
      task: this.task.finish(),
      worker: this.worker.finish(),
      label,
      tasks: this.tasks.names,
      workers: this.workers.names,
      classes: order.map((i) => this.classes.names[i]!),
      ...(gold ? { gold } : {}),
    };
  }
}

/** Encodes crowd-kit `task,worker,label` rows (and optional gold `task → label`). */
export function encodeCategorical(
  rows: Iterable<{ readonly task: string; readonly worker: string; readonly label: string }>,
  gold?: Iterable<readonly [string, string]>,
): CategoricalData {
  const enc = new CategoricalEncoder();
  for (const r of rows) enc.add(r.task, r.worker, r.label);
  if (gold) for (const [t, l] of gold) enc.addGold(t, l);
  return enc.finish();
}

export class PairwiseEncoder {
  private readonly items = new Interner();
  private readonly workers = new Interner();
  private readonly worker: Column<Int32Array>;
  private readonly left: Column<Int32Array>;
  private readonly right: Column<Int32Array>;
  private outcome: Uint8Array;

  constructor(expected = 1024) {
    this.worker = new Column(Int32Array, expected);
    this.left = new Column(Int32Array, expected);
    this.right = new Column(Int32Array, expected);
    this.outcome = new Uint8Array(Math.max(expected, 16));
  }

  add(worker: string, left: string, right: string, outcome: Outcome): void {
    if (left === right) {
      throw new KeelError("KEEL_E_INVALID_RECORD", "an item cannot be compared with itself", {
        where: { id: left, field: "right" },
      });
    }
    const n = this.worker.length;
    if (n === this.outcome.length) {
      const next = new Uint8Array(Math.ceil(n * 1.5));
      next.set(this.outcome);
      this.outcome = next;
    }
    this.outcome[n] = outcome;
    this.worker.push(this.workers.id(worker));
    this.left.push(this.items.id(left));
    this.right.push(this.items.id(right));
  }

  /** crowd-kit's row: `label` names the preferred item and must be `left` or `right`. */
  addLabelled(worker: string, left: string, right: string, label: string): void {
    const outcome = label === left ? LEFT_WINS : label === right ? RIGHT_WINS : -1;
    if (outcome < 0) {
      throw new KeelError(
        "KEEL_E_INVALID_RECORD",
        `label ${JSON.stringify(label)} is neither the left nor the right item`,
        {
          where: { field: "label" },
          hint: "in crowd-kit's pairwise table the label is the preferred item's name",
        },
      );
    }
    this.add(worker, left, right, outcome as Outcome);
  }

  get size(): number {
    return this.worker.length;
  }

  finish(): PairwiseData {
    const n = this.worker.length;
    return {
      nItems: this.items.size,
      nWorkers: this.workers.size,
      worker: this.worker.finish(),
      left: this.left.finish(),
      right: this.right.finish(),
      outcome: n === this.outcome.length ? this.outcome : this.outcome.slice(0, n),
      items: this.items.names,
      workers: this.workers.names,
    };
  }
}

/** Encodes crowd-kit `worker,left,right,label` rows. */
export function encodePairwise(
  rows: Iterable<{
    readonly worker: string;
    readonly left: string;
    readonly right: string;
    readonly label: string;
  }>,
): PairwiseData {
  const enc = new PairwiseEncoder();
  for (const r of rows) enc.addLabelled(r.worker, r.left, r.right, r.label);
  return enc.finish();
}

/** Left-win amount of an outcome: 1, 0, or ½ for a tie. */
export const OUTCOME_Y: Float64Array = Float64Array.from([1, 0, 0.5]);
export { LEFT_WINS, RIGHT_WINS, TIE };
