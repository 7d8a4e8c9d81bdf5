/**
 * Exponential moving average of the weights (Polyak averaging): after each optimiser step,
 * ē ← d·ē + (1 − d)·θ. `swap()` exchanges the averaged and live weights in place, so an
 * evaluation can run on ē and the next swap restores θ.
 */
import { KeelError } from "../../core/errors.js";
import type { FloatArray, ParamStore } from "../params.js";

export class Ema {
  readonly shadow: FloatArray;

  constructor(
    readonly params: ParamStore,
    readonly decay = 0.999,
  ) {
    // Outside [0, 1] the average grows without bound or flips sign at every step; NaN poisons it.
    if (!(decay >= 0 && decay <= 1))
      throw new KeelError("KEEL_E_CONFIG", `EMA decay must be in [0, 1], got ${decay}`);
    this.shadow = params.flat.slice();
  }

  update(): void {
    const p = this.params.flat;
    const e = this.shadow;
    const d = this.decay;
    for (let i = 0; i < p.length; i++) e[i] = d * e[i]! + (1 - d) * p[i]!;
  }

  swap(): void {
    const p = this.params.flat;
    const e = this.shadow;
    for (let i = 0; i < p.length; i++) {
      const t = p[i]!;
      p[i] = e[i]!;
      e[i] = t;
    }
    this.params.touch();
  }
}
