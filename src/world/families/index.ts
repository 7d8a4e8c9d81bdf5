/** The registry of prompt families: one explicit entry per family. */
import type { Family } from "../types.js";
import { ARITHMETIC } from "./arithmetic.js";
import { BORDERLINE_FAMILY } from "./borderline.js";
import { FACTS } from "./facts.js";
import type { FamilyDef } from "./family.js";
import { HARMFUL } from "./harmful.js";
import { WORD_TASKS } from "./words.js";

export const FAMILY_DEFS: Readonly<Record<Family, FamilyDef>> = {
  arithmetic: ARITHMETIC,
  facts: FACTS,
  words: WORD_TASKS,
  harmful: HARMFUL,
  borderline: BORDERLINE_FAMILY,
};

export type { FamilyDef, PromptSpec } from "./family.js";
