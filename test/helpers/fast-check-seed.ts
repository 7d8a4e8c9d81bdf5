/**
 * Property tests run on a fixed seed, as everything random in keel does, so a run of the suite
 * is repeatable and CI cannot fail on a case no earlier run drew. To explore other cases, set
 * KEEL_FC_SEED (fast-check prints the seed and path of any counterexample it finds).
 */
import fc from "fast-check";

const seed = Number(process.env.KEEL_FC_SEED ?? 20_261_206);
if (!Number.isInteger(seed)) throw new Error(`KEEL_FC_SEED must be an integer, got ${seed}`);
fc.configureGlobal({ seed });
