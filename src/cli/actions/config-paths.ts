/**
 * Paths inside a config file (data files, worlds, checkpoints, outputs) are read relative to the
 * directory keel runs in, as the examples assume (they run from the repository root). When a
 * file a config names is missing there but exists relative to the config's own directory or one
 * above it, the error says where to run keel from.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { KeelError } from "../../core/errors.js";

const MISSING = new Set(["KEEL_E_FILE", "KEEL_E_NOT_FOUND"]);

/** How many directories above the config's own are tried. */
const LEVELS = 3;

/** `e`, with a hint when the relative path it names resolves from the config's directory or above. */
export function explainConfigPath(e: unknown, config: string): unknown {
  if (!(e instanceof KeelError) || !MISSING.has(e.code)) return e;
  const named = e.where?.file;
  if (named === undefined || named === config || isAbsolute(named)) return e;
  const cwd = process.cwd();
  let dir = dirname(resolve(config));
  for (let i = 0; i <= LEVELS; i++) {
    if (dir !== cwd && existsSync(join(dir, named))) {
      const rel = relative(cwd, dir);
      const from = rel.startsWith("..") ? dir : rel;
      return e.withHint(
        `paths in ${config} are relative to the directory keel runs in, not to the config file; ` +
          `${named} is there from ${from}: run keel from that directory, or name the path from here`,
      );
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return e;
}
