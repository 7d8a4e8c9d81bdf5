/**
 * What a trade-off experiment's results follow from, and what `--resume` may keep: the cost
 * model's and each point's source.json (hashes of the run's models, the data, the configs with
 * their paths made location-free), a point's saved result, and its finished PPO run.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { canonicalJson } from "../core/canonical.js";
import { sha256Hex } from "../core/digest.js";
import { endedAs, FINAL_MODEL_DIR, type RmConfig, readMetrics } from "../train/index.js";
import type { Plan } from "./plan.js";
import { fileSha256 } from "./run-manifest.js";
import type { TradeoffPoint } from "./tradeoff.js";

/** Beside the cost model in --out, and in each point's directory: what it came from. */
export const SOURCE = "source.json";
/** In a point's directory once it is red-teamed: its `TradeoffPoint`. */
export const POINT = "point.json";

/** `--from` and `--out` as source.json names them, the longer (inner) one first. */
export type Roots = readonly (readonly [dir: string, name: string])[];

export function rootsOf(o: { readonly from: string; readonly out: string }): Roots {
  const roots: [string, string][] = [
    [resolve(o.from), "<from>"],
    [resolve(o.out), "<out>"],
  ];
  return roots.sort((a, b) => b[0].length - a[0].length);
}

/**
 * A config as source.json hashes it: each string that names a path inside `--from` or `--out`
 * becomes "<from>/…" or "<out>/…", so that `--resume` under another spelling of the same
 * directories (`run` and `./run/`, a relative path and an absolute one) keeps the finished points
 * instead of training them again. What the paths hold is hashed on its own (weights, data).
 */
export function locationFree(value: unknown, roots: Roots): unknown {
  if (typeof value === "string") {
    if (!value.includes("/") && !value.includes(sep) && !roots.some(([d]) => resolve(value) === d))
      return value;
    const abs = resolve(value);
    for (const [dir, name] of roots) {
      const rel = relative(dir, abs);
      if (rel === "") return name;
      if (!rel.startsWith("..") && !isAbsolute(rel)) return `${name}/${rel.split(sep).join("/")}`;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => locationFree(v, roots));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, locationFree(v, roots)] as const),
    );
  return value;
}

/**
 * What the cost model is trained from: the run's base policy (its config.json holds the
 * weights' hash), the world's judgments and truth, and the trainer config.
 */
export function costSource(from: string, rm: RmConfig, roots: Roots): string {
  const digest = (...p: string[]) => fileSha256(join(from, ...p));
  return `${JSON.stringify({
    base: digest("base", "model", "config.json"),
    truth: digest("world", "truth.json"),
    judgments: digest("world", "judgments.jsonl"),
    rm: sha256Hex(canonicalJson(locationFree(rm, roots))),
  })}\n`;
}

/**
 * What one point's result follows from: the run's base policy and the reward model (their
 * config.json files hold the weights' hashes), the point's PPO config, the red-team probes and
 * their settings, and for a Lagrangian point the cost model's own source.
 */
export function pointSource(
  models: { readonly base: string; readonly rm: string },
  config: unknown,
  redteam: Plan["redteam"],
  cost: string | undefined,
  roots: Roots,
): string {
  return `${JSON.stringify({
    base: models.base,
    rm: models.rm,
    ppo: sha256Hex(canonicalJson(locationFree(config, roots))),
    redteam: sha256Hex(canonicalJson(redteam)),
    ...(cost === undefined ? {} : { cost: sha256Hex(cost) }),
  })}\n`;
}

/**
 * A model directory's identity: its config.json (which holds its weight files' hashes), or an
 * ensemble's ensemble.json and each member's config.json.
 */
export function modelDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name === "config.json" || e.name === "ensemble.json")
        h.update(`${relative(dir, path)}\0`).update(readFileSync(path));
    }
  };
  walk(dir);
  return h.digest("hex");
}

/** A point directory's finished PPO run (completed, or stopped by a safeguard), if any. */
export function finishedPpo(dir: string): { checkpoint: string; kl: number | null } | undefined {
  const status = endedAs(dir);
  const model = join(dir, FINAL_MODEL_DIR);
  if ((status !== "completed" && status !== "stopped") || !existsSync(model)) return undefined;
  const summary = readMetrics(dir).findLast((r) => r.type === "summary");
  return { checkpoint: model, kl: typeof summary?.kl === "number" ? summary.kl : null };
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** A point's saved result, when it is one and is the point asked for. */
export function readPoint(
  path: string,
  p: { mode: TradeoffPoint["mode"]; value: number },
): TradeoffPoint | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    const point = JSON.parse(text) as TradeoffPoint;
    return point.mode === p.mode && point.value === p.value ? point : undefined;
  } catch {
    return undefined;
  }
}
