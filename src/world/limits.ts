/**
 * The world's size limits, so that a typo in a config cannot run for hours or exhaust memory
 * (docs/world.md, "Command line").
 */

/** The most comparisons a world may have (`comparisons.count`, and `--comparisons`). */
export const MAX_COMPARISONS = 100_000_000;
/** A panel of this many raters builds in seconds; far more would run for minutes to hours. */
export const MAX_RATERS = 100_000;
/** The SFT corpus and the evaluation pairs are built in memory before they are written. */
export const MAX_ROWS = 1_000_000;
