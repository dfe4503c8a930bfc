/** A growing list of 32-bit integers: half the memory of a number[], and nothing in it for the garbage collector to trace. */
export class IntList {
  private data: Int32Array;
  /** How many values were pushed. */
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Int32Array(Math.max(1, capacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** The value at `index` (0 to length - 1). */
  at(index: number): number {
    return this.data[index]!;
  }

  /** The values pushed, as a view (valid until the next push). */
  values(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}
