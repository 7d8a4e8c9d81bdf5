/**
 * Reading a YAML config file with line numbers kept, so validation errors can name the line of
 * the offending field. Duplicate keys are errors (YAML would otherwise keep the last silently).
 */
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import type { ConfigSource } from "../core/config.js";
import { KeelError } from "../core/errors.js";
import { describeFsError } from "./files.js";

export interface YamlConfig {
  readonly raw: Record<string, unknown>;
  readonly source: ConfigSource;
}

/** Parses YAML text; `file` names it in errors and in the returned source. */
export function parseYamlConfig(text: string, file: string): YamlConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new KeelError("KEEL_E_CONFIG", `invalid YAML: ${err.message.split("\n")[0]}`, {
      where: { file, ...(line !== undefined ? { line } : {}) },
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (e) {
    // The yaml library refuses aliases that would expand without bound (a "billion laughs"
    // file): a config error, not a crash.
    throw new KeelError("KEEL_E_CONFIG", `invalid YAML: ${(e as Error).message}`, {
      where: { file },
    });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new KeelError("KEEL_E_CONFIG", "the config must be a YAML mapping", { where: { file } });
  }
  const lineOf = (path: readonly (string | number)[]) => {
    for (let k = path.length; k > 0; k--) {
      const node = doc.getIn(path.slice(0, k), true) as
        | { range?: [number, number, number] }
        | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { raw: raw as Record<string, unknown>, source: { file, lineOf } };
}

export async function loadYamlConfig(file: string): Promise<YamlConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read: ${describeFsError(e)}`, { where: { file } });
  }
  return parseYamlConfig(text, file);
}
