/**
 * A growable typed array: a column of numbers filled one row at a time whose final length is
 * not known in advance (judgments streamed from a file or a store). It grows by half again
 * when full, so a million rows cost a few reallocations and no per-row objects.
 */
type Typed = Uint8Array | Int32Array | Float64Array;

interface TypedCtor<A extends Typed> {
  new (length: number): A;
}

export class Column<A extends Typed> {
  private data: A;
  length = 0;

  constructor(
    private readonly make: TypedCtor<A>,
    capacity = 1024,
  ) {
    this.data = new make(Math.max(capacity, 16));
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new this.make(Math.ceil(this.data.length * 1.5));
      next.set(this.data as never);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  /** Adds `v` to row `i` (a row already pushed). */
  add(i: number, v: number): void {
    this.data[i]! += v;
  }

  /** The filled part; copied only when spare capacity is worth returning to the heap. */
  finish(): A {
    if (this.length === this.data.length) return this.data;
    return this.data.slice(0, this.length) as A;
  }
}
