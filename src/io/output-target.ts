/**
 * Where an output file really goes, decided before anything is written. A path may name the
 * store being read or the file being imported (writing there destroys it), a symbolic link (its
 * target is what the user means), a device or a FIFO (written in place: renaming a temporary
 * file over /dev/null would replace the device), or a regular file whose permissions the
 * replacement must keep.
 */
import { lstatSync, realpathSync, type Stats, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { KeelError } from "../core/errors.js";
import { describeFsError } from "../core/files.js";

/** A file the output must not be, and what it is (for the message). */
export interface ProtectedFile {
  readonly path: string;
  readonly what: string;
}

export type OutputTarget =
  /** A new or regular file: written to a temporary file renamed onto `path`. */
  | {
      readonly kind: "replace";
      readonly path: string;
      readonly existing?: { mode: number; uid: number; gid: number };
    }
  /** A character device or FIFO: written in place, never replaced. */
  | { readonly kind: "direct"; readonly path: string };

function statOrUndefined(path: string, follow: boolean): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new KeelError("KEEL_E_FILE", `cannot write: ${describeFsError(e)}`, {
      where: { file: path },
    });
  }
}

/**
 * The canonical form of a path that may not exist yet: its deepest existing ancestor resolved
 * through symbolic links, and the rest appended.
 */
export function canonicalPath(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(canonicalPath(parent), basename(abs));
  }
}

/** Whether two paths name one file: same device and inode when both exist, else same path. */
export function sameFile(a: string, b: string): boolean {
  let sa: Stats | undefined;
  let sb: Stats | undefined;
  try {
    sa = statSync(a);
    sb = statSync(b);
  } catch {
    // one of them does not exist (yet): compare where they would be
  }
  if (sa && sb) return sa.dev === sb.dev && sa.ino === sb.ino;
  return canonicalPath(a) === canonicalPath(b);
}

/**
 * Whether `path` is `dir` or lies anywhere under it, through links: paths are compared resolved,
 * and each ancestor of `path` by device and inode.
 */
export function isWithin(path: string, dir: string): boolean {
  const top = canonicalPath(dir);
  for (let p = canonicalPath(path), up = dirname(p); ; p = up, up = dirname(p)) {
    if (p === top || sameFile(p, dir)) return true;
    if (up === p) return false;
  }
}

/** The files of a SQLite database: the file and its journals, which SQLite may create later. */
export function sqliteFiles(path: string, what: string): ProtectedFile[] {
  return ["", "-wal", "-shm", "-journal"].map((suffix) => ({
    path: `${path}${suffix}`,
    what: suffix === "" ? what : `${what}'s ${suffix.slice(1)} file`,
  }));
}

/** Decides how to write `path`, refusing the protected files, directories and sockets. */
export function resolveOutputTarget(
  path: string,
  protect: readonly ProtectedFile[] = [],
): OutputTarget {
  let final = path;
  const link = statOrUndefined(path, false);
  if (link?.isSymbolicLink()) {
    try {
      final = realpathSync(path);
    } catch (e) {
      throw new KeelError(
        "KEEL_E_FILE",
        `is a symbolic link that cannot be followed (${describeFsError(e)})`,
        { where: { file: path }, hint: "write to the link's target path, or remove the link" },
      );
    }
  }
  for (const p of protect) {
    if (sameFile(final, p.path)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `is ${p.what} (${p.path}): writing the output there would destroy it`,
        { where: { file: path }, hint: "choose another output file" },
      );
    }
  }
  const st = link?.isSymbolicLink() ? statOrUndefined(final, true) : link;
  if (st === undefined) return { kind: "replace", path: final };
  if (st.isFile())
    return {
      kind: "replace",
      path: final,
      existing: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid },
    };
  if (st.isCharacterDevice() || st.isFIFO()) return { kind: "direct", path: final };
  const what = st.isDirectory()
    ? "a directory"
    : st.isBlockDevice()
      ? "a block device"
      : "a socket";
  throw new KeelError("KEEL_E_FILE", `cannot write: is ${what}`, {
    where: { file: path },
    hint: "give the path of a file to write",
  });
}
