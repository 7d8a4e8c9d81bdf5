/**
 * Choice lists that option parsers and help text need but whose owners are heavy to load (the
 * engine, the pipeline). They are restated here so that defining the commands loads neither;
 * test/cli/startup.test.ts checks that each still equals its source.
 */
import type { Head } from "../engine/gpt/graphs.js";
import { ATTACK_TYPES, type AttackType } from "../redteam/scenarios.js";

/** The outputs a GPT checkpoint can export (HEADS in src/engine/gpt/graphs.ts). */
export const HEADS: readonly Head[] = ["logits", "logprobs", "values", "rewards"];

/** The attacks a poison sweep can run (SWEEP_ATTACKS in src/pipeline/sweep.ts). */
export const SWEEP_ATTACKS: readonly AttackType[] = ATTACK_TYPES.filter((a) => a !== "none");
