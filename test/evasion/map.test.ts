/**
 * scripts/evasion-map.ts on a tiny grid, as a user runs it: the table and the JSON have their
 * shape, the run is deterministic, and one fact of known direction holds — at the same share of
 * the panel, a flipper that poisons one harmful comparison in ten and answers gold honestly is
 * excluded less often, and keeps more of its poison, than one that flips every harmful one.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "keel-evasion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = `attack: flipper
panel_size: 50
seeds: [5]
world:
  prompts: { count: 400 }
  comparisons: { count: 1000, overlap: 3, gold_rate: 0.1 }
grids:
  - name: blatant
    axes: { share: [0.1], rate: [1] }
  - name: camouflaged
    axes: { share: [0.1], rate: [0.1], gold_detection: [1] }
`;

function run(out: string): string {
  const spec = join(dir, "tiny.yaml");
  writeFileSync(spec, SPEC);
  return execFileSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "scripts", "evasion-map.ts"), spec, "--out", out],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
}

describe("scripts/evasion-map.ts", () => {
  it("prints the table, writes the JSON, and a camouflaged attacker evades more", () => {
    const out = join(dir, "map.json");
    const table = run(out);
    const lines = table.trim().split("\n");
    expect(lines[0]).toMatch(/^attack\s+grid\s+cell\s+k\s+excluded\s+suspect\s+missed/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^flipper\s+blatant\s+share=0.1 rate=1\s+5\s/);

    const map = JSON.parse(readFileSync(out, "utf8"));
    expect(map.format).toBe("keel-evasion-map/1");
    expect(map.cells).toHaveLength(2);
    const [blatant, camo] = map.cells;
    expect(camo.cell).toEqual({ share: 0.1, rate: 0.1, gold_detection: 1 });
    for (const c of map.cells) {
      expect(c.seeds).toHaveLength(1);
      const s = c.seeds[0];
      expect(s.attackers).toBe(5);
      expect(s.excluded + s.suspect + s.missed).toBeCloseTo(1, 9);
      expect(s.poisoned).toBeGreaterThan(0);
      expect(s.poison_kept).toBeGreaterThanOrEqual(0);
      expect(s.poison_kept).toBeLessThanOrEqual(1);
      expect(c.mean.excluded.mean).toBe(s.excluded);
    }
    expect(blatant.mean.excluded.mean).toBe(1);
    expect(camo.mean.excluded.mean).toBeLessThan(blatant.mean.excluded.mean);
    expect(camo.mean.poison_kept.mean).toBeGreaterThan(blatant.mean.poison_kept.mean);

    // Seeded: the same files give the same bytes.
    const again = join(dir, "again.json");
    run(again);
    expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
  });
});
