/**
 * The folder rules of DESIGN.md ("folders and what each may import"), checked on every relative
 * import and re-export under src/. A few imports cross the table on purpose; each is listed in
 * EXCEPTIONS by the path prefix it may reach and why, so that a new crossing fails here rather
 * than slipping in.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

/** DESIGN.md's table: folder → the folders of ours it may import. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: [],
  store: ["core"],
  io: ["core"],
  aggregate: ["core"],
  defend: ["core", "aggregate"],
  engine: ["core"],
  train: ["core", "engine"],
  safeguards: ["core", "train"],
  world: ["core"],
  redteam: ["core", "world", "defend", "train"],
  report: ["core"],
  providers: ["core", "engine"],
  server: ["core", "store", "defend", "providers"],
};

/** Deliberate crossings: folder → path prefixes under src/ it may also import, with the reason. */
const EXCEPTIONS: Record<string, readonly { prefix: string; why: string }[]> = {
  providers: [
    { prefix: "train/common/", why: "the built-in provider loads keel's checkpoints and codecs" },
    { prefix: "train/rm/", why: "the built-in reward provider scores with keel's reward models" },
  ],
  safeguards: [
    { prefix: "engine/optim/", why: "the EMA-policy safeguard averages the engine's weights" },
    { prefix: "engine/gpt/model", why: "the EMA-policy safeguard holds the policy (type only)" },
  ],
  server: [
    { prefix: "aggregate/", why: "the admin views' live rater scores compose the aggregators" },
    { prefix: "io/formats/judgments", why: "the admin export writes the keel judgments format" },
  ],
};

/** Folders that may import anything below them; nothing but cli/ may import cli/. */
const UNRESTRICTED = new Set(["pipeline", "cli"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

const IMPORT = /(?:from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g;

function crossings(): string[] {
  const bad: string[] = [];
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split("/")[0]!;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const target = relative(SRC, normalize(join(dirname(file), m[1]!)));
      const to = target.split("/")[0]!;
      if (target.startsWith("..") || to === from || !target.includes("/")) continue;
      const where = `${relative(SRC, file)}:${text.slice(0, m.index).split("\n").length}`;
      if (to === "cli" && from !== "cli") bad.push(`${where} imports ${target} (only cli/ may)`);
      if (UNRESTRICTED.has(from)) continue;
      const allowed = MAY_IMPORT[from];
      if (!allowed) {
        bad.push(`${where}: folder ${from}/ is not in DESIGN.md's table`);
        continue;
      }
      if (allowed.includes(to)) continue;
      if ((EXCEPTIONS[from] ?? []).some((e) => target.startsWith(e.prefix))) continue;
      bad.push(
        `${where} imports ${target} (${from}/ may import ${allowed.join(", ") || "nothing"})`,
      );
    }
  }
  return bad;
}

describe("DESIGN.md's folder rules", () => {
  it("every import under src/ stays within its folder's allowance", () => {
    expect(crossings()).toEqual([]);
  });

  it("finds imports (the check is not vacuous)", () => {
    const all = sources(SRC).flatMap((f) => [...readFileSync(f, "utf8").matchAll(IMPORT)]);
    expect(all.length).toBeGreaterThan(500);
  });
});
