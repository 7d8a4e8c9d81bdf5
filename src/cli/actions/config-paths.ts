/**
 * Paths inside a config file (data files, worlds, checkpoints, outputs) are read relative to the
 * directory keel runs in, as the examples assume (they run from the repository root). When a
 * file a config names is missing there but exists relative to the config's own directory or one
 * above it, the error says where to run keel from (or, when that is an installed package, what to
 * copy out of it). keel does not expand `~` (a shell does, on a command line, but not inside a
 * file), so a missing `~/…` path gets the full path to write.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { KeelError } from "../../core/errors.js";

const MISSING = new Set(["KEEL_E_FILE", "KEEL_E_NOT_FOUND"]);

/** How many directories above the config's own are tried. */
const LEVELS = 3;

/**
 * The paths an error may be about: the file it is located at, then the words of its message
 * that look like paths (a checkpoint or data file named in a config is told at the config's
 * line, its path in the message: `no checkpoint at runs/sft/model (…)`). A parenthesised aside
 * (`(no config.json in that directory)`) is no path the config gave.
 */
function namedPaths(e: KeelError, config: string): string[] {
  const words = e.detail
    .replace(/\([^()]*\)/g, " ")
    .split(/\s+/)
    .map((w) => w.replace(/^["'`]+/, "").replace(/["'`),;:]+$/, ""))
    .filter((w) => /[./~]/.test(w));
  const all = [...(e.where?.file !== undefined ? [e.where.file] : []), ...words];
  return [...new Set(all)].filter((p) => p !== "" && p !== config && !isAbsolute(p));
}

/** `e`, with a hint when a relative path it names resolves from the config's directory or above. */
export function explainConfigPath(e: unknown, config: string): unknown {
  if (!(e instanceof KeelError) || !MISSING.has(e.code)) return e;
  const named = namedPaths(e, config).filter((p) => !existsSync(p));
  const tilde = named.find((p) => p === "~" || p.startsWith("~/"));
  if (tilde !== undefined)
    return e.withHint(
      `keel does not expand ~ (a shell does on a command line, not inside a config file): ` +
        `${tilde} is read as a path under a directory called "~" where keel runs; write the full path, ${join(homedir(), tilde.slice(1))}`,
    );
  const cwd = process.cwd();
  for (const path of named) {
    let dir = dirname(resolve(config));
    for (let i = 0; i <= LEVELS; i++) {
      if (dir !== cwd && existsSync(join(dir, path))) {
        const rel = relative(cwd, dir);
        const from = rel.startsWith("..") ? dir : rel;
        const top = path.split(/[\\/]/).find((s) => s !== ".");
        // An installed package (the examples shipped with keel) is no place to run in: runs/
        // would be written inside it. Its files are copied out instead.
        if (dir.split(sep).includes("node_modules") && top !== undefined && top !== "..")
          return e.withHint(
            `paths in ${config} are relative to the directory keel runs in, not to the config file; ` +
              `${path} is in the installed package at ${from}: copy ${top} here (cp -r ${join(from, top)} .), or name the path from here`,
          );
        return e.withHint(
          `paths in ${config} are relative to the directory keel runs in, not to the config file; ` +
            `${path} is there from ${from}: run keel from that directory, or name the path from here`,
        );
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return e;
}
