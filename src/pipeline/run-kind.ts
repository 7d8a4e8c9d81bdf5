/**
 * Which run a directory holds or lies inside (a pipeline's, a trainer's, an experiment's), and
 * the refusals that keep one run's output from landing in another run's directory, whose
 * config.yaml and manifest.json (its provenance) it would replace.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { KeelError } from "../core/errors.js";
import { canonicalPath } from "../io/output-target.js";
import { type RunKind, readManifest } from "./run-manifest.js";

/**
 * The kind of run `dir` holds: the manifest's `kind`, or for a run begun before keel recorded
 * it, `pipeline` when it has a state.json (or a pipeline's config.yaml) and `train <trainer>`
 * when its config.yaml names a trainer; `unknown` for any other manifest.json, undefined when
 * it holds no run.
 */
export function heldRunKind(dir: string): RunKind | "unknown" | undefined {
  const manifest = readManifest(dir);
  if (typeof manifest?.kind === "string") return manifest.kind;
  if (existsSync(join(dir, "state.json"))) return "pipeline";
  const kind = configYamlKind(dir);
  if (kind !== undefined) return kind;
  return manifest || existsSync(join(dir, "manifest.json")) ? "unknown" : undefined;
}

/** The kind of run a directory's config.yaml was written by, when it says. */
function configYamlKind(dir: string): RunKind | undefined {
  let config: unknown;
  try {
    config = parseYaml(readFileSync(join(dir, "config.yaml"), "utf8"));
  } catch {
    return undefined; // absent or unreadable
  }
  if (typeof config !== "object" || config === null) return undefined;
  const c = config as { trainer?: unknown; preset?: unknown; arms?: unknown };
  if (typeof c.trainer === "string") return `train ${c.trainer}`;
  if (c.preset !== undefined && c.arms !== undefined) return "pipeline";
  return undefined;
}

/**
 * The run directory that `dir` lies inside, at any depth (`dir` itself aside), if any, with its
 * kind, the path spelled as `dir` spells it when it can (else resolved). A pipeline run's stage
 * directories (`base`, `defended/rm`…) and a trainer run's `model` and `checkpoints` have no
 * manifest.json of their own, so `heldRunKind` sees nothing there. Stricter than `heldRunKind`
 * on purpose, since every ancestor up to / is asked: the manifest must name the kind, or (a run
 * begun before manifests did) the manifest must be there and the config.yaml beside it say
 * which; a pipeline's config.yaml alone also counts. A stray state.json or a trainer config
 * named config.yaml in a parent directory is not taken for a run.
 */
export function enclosingRun(dir: string): { dir: string; kind: RunKind } | undefined {
  const ancestors: string[] = [];
  for (let p = dir, up = dirname(p); up !== p; p = up, up = dirname(p)) ancestors.push(up);
  // Then through symbolic links, and above the working directory for a relative path.
  const real = canonicalPath(dir);
  for (let p = real, up = dirname(p); up !== p; p = up, up = dirname(p)) ancestors.push(up);
  const seen = new Set<string>([real]);
  for (const a of ancestors) {
    const key = canonicalPath(a);
    if (seen.has(key)) continue;
    seen.add(key);
    const manifest = readManifest(a);
    // An experiment's directory is made to hold runs (its cells', its points').
    if (manifest?.kind?.startsWith("experiment ")) continue;
    if (manifest?.kind !== undefined) return { dir: a, kind: manifest.kind };
    const kind = configYamlKind(a);
    if (kind === "pipeline" || (kind !== undefined && manifest !== undefined))
      return { dir: a, kind };
  }
  return undefined;
}

/**
 * Refuses (KEEL_E_USAGE) an output path inside a run's directory (`enclosingRun`): a pipeline
 * run's state.json records what its stages wrote there, and a stage that runs again removes its
 * directory; a trainer run prunes its checkpoints and its manifest records its model. Either the
 * output or the run would be lost. `what` names the output for the hint.
 */
export function refuseInsideRun(path: string, what: string): void {
  const run = enclosingRun(path);
  if (run === undefined) return;
  const owner =
    run.kind === "pipeline"
      ? "the run's stages own what is in it (a stage that runs again removes its directory)"
      : "the run owns what is in it (its model, and checkpoints it prunes as it trains)";
  throw new KeelError(
    "KEEL_E_USAGE",
    `${path} is inside the ${run.kind} run directory ${run.dir}; choose another --out`,
    { hint: `${owner}: write ${what} outside ${run.dir}` },
  );
}

/** "a pipeline run", "an experiment tradeoff run". */
export function aRun(kind: RunKind): string {
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} run`;
}

/**
 * Refuses (KEEL_E_USAGE) a directory inside a run's directory (`enclosingRun`), and one that
 * holds a run of another kind than `kind`: writing into it would replace that run's
 * config.yaml and manifest.json, and with them its provenance.
 * A run of the same kind is left to the caller (resume, or refuse a finished one).
 */
export function refuseOtherRun(dir: string, kind: RunKind): void {
  refuseInsideRun(dir, aRun(kind));
  const held = heldRunKind(dir);
  if (held === undefined || held === kind) return;
  const what = held === "unknown" ? "another kind of run (its manifest.json)" : aRun(held);
  throw new KeelError("KEEL_E_USAGE", `${dir} already holds ${what}; choose another --out`, {
    hint: `writing ${aRun(kind)} there would replace that run's config.yaml and manifest.json`,
  });
}

/**
 * The temporary file of one of keel's atomic writes (`NAME.tmp-PID-N`, core/temp-names.ts). A
 * run killed while it wrote its first file (config.yaml) leaves only that in its directory.
 */
const KEEL_TEMP_FILE = /\.tmp-\d+-\d+$/;

/**
 * What a directory that holds no run holds, when it holds anything: a model checkpoint (what
 * `keel model init` and `keel train` write), a reward-model ensemble, a feedback store, or other
 * files. Undefined for a new or empty directory (hidden files and keel's own temporary files
 * aside) and for one that holds a run (`heldRunKind`).
 */
export function foreignContents(dir: string): string | undefined {
  let entries: string[];
  try {
    // Hidden files (.gitkeep, .DS_Store, the .keel-lock of the command writing the directory:
    // core/dir-lock.ts) are not contents a run could destroy; a killed run's
    // temporary file is its own, and the run's next write of that file removes it.
    entries = statSync(dir).isDirectory()
      ? readdirSync(dir).filter((e) => !e.startsWith(".") && !KEEL_TEMP_FILE.test(e))
      : [];
  } catch {
    return undefined; // not there yet
  }
  if (entries.length === 0 || heldRunKind(dir) !== undefined) return undefined;
  if (entries.includes("config.json")) return "a model checkpoint (config.json)";
  if (entries.includes("ensemble.json")) return "a reward-model ensemble (ensemble.json)";
  if (entries.includes("keel.db")) return "a feedback store (keel.db)";
  const shown = entries.sort().slice(0, 3).join(", ");
  return `other files (${shown}${entries.length > 3 ? ", …" : ""})`;
}
