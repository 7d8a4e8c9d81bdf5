/**
 * What the outputs of a command that reads a model must not replace: the files a checkpoint
 * holds (CHECKPOINT_FILES) and an ensemble's ensemble.json and its members' files,
 * one directory down. Writing an export or a completions file over one of them destroys the
 * model; any other file beside them (`--out CKPT/model.onnx`) is the user's to write and rewrite.
 */
import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";
import { CHECKPOINT_FILES } from "../../engine/checkpoint/checkpoint.js";
import type { ProtectedFile } from "../../io/output-target.js";

function subdirectories(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // not there or unreadable: loading the model says why
  }
  return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
}

export function modelFiles(dir: string, what = "the model being read"): ProtectedFile[] {
  const names = [
    join(dir, "ensemble.json"),
    ...[dir, ...subdirectories(dir)].flatMap((d) => CHECKPOINT_FILES.map((f) => join(d, f))),
  ];
  return names.map((path) => ({ path, what: `a file of ${what}` }));
}
