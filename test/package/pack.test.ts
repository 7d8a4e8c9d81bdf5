/**
 * The package as `npm pack` makes it: what the built CLI loads from disk at run time (its worker
 * entry modules, started by path; the web app `keel serve` serves; the examples and docs its
 * help names) is in the tarball, and the repository's tests, benchmarks and sources are not.
 * `npm pack --dry-run --ignore-scripts` lists the files without building (its `prepare` would).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { DEFAULT_WEB_ROOT } from "../../src/cli/actions/serve.js";
import { tempDir } from "../helpers/stores.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function packedFiles(cwd: string): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [pack] = JSON.parse(out) as [{ files: { path: string }[] }];
  return pack.files.map((f) => f.path);
}

/** dist/… of every module that src/ starts as a worker thread by its path. */
function workerEntries(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts"))
        for (const m of readFileSync(path, "utf8").matchAll(
          /startModuleWorker\(\s*import\.meta\.url,\s*"([^"]+)"/g,
        )) {
          const rel = relative(join(ROOT, "src"), join(dirname(path), `${m[1]}.ts`));
          expect(readdirSync(dirname(path)), rel).toContain(`${m[1]}.ts`);
          found.push(join("dist", rel.replace(/\.ts$/, ".js")));
        }
    }
  };
  walk(join(ROOT, "src"));
  return found;
}

describe("the packed package", () => {
  it("ships what the built CLI reads at run time and none of the repository's own files", () => {
    // A tree laid out as after `npm run build`, with this package.json and ignore files.
    const dir = tempDir("keel-pack-");
    const put = (rel: string) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), "x\n");
    };
    for (const f of [".gitignore", "package.json"])
      writeFileSync(join(dir, f), readFileSync(join(ROOT, f)));
    const web = relative(ROOT, DEFAULT_WEB_ROOT);
    const workers = workerEntries();
    expect(workers.length).toBeGreaterThanOrEqual(4);
    const needed = [
      "bin/keel.js",
      "dist/cli/main.js",
      ...workers,
      `${web}/index.html`,
      `${web}/assets/index-abc123.js`,
      `${web}/assets/index-abc123.css`,
      "examples/world.yaml",
      "docs/cli.md",
      "docs/img/chart.svg",
    ];
    const unwanted = [
      "test/x.test.ts",
      "bench/engine.ts",
      "bench/results/engine.json",
      "src/cli/main.ts",
      "scripts/gen-cli-docs.ts",
      "web/src/main.tsx",
      "web/index.html",
      "web/vite.config.ts",
      "runs/demo-1/report.html",
      "keel.db",
      ".tmp/notes.md",
      ".ci/run",
    ];
    for (const f of [...needed, ...unwanted]) put(f);
    const files = packedFiles(dir);
    for (const f of needed) expect(files, f).toContain(f);
    for (const f of unwanted) expect(files, f).not.toContain(f);
  });

  it("packs every example and doc of this tree, and nothing from test/, bench/, src/ or scripts/", () => {
    const files = packedFiles(ROOT);
    for (const top of ["examples", "docs"])
      for (const f of readdirSync(join(ROOT, top), { recursive: true, withFileTypes: true }))
        if (f.isFile()) expect(files).toContain(relative(ROOT, join(f.parentPath, f.name)));
    expect(files.filter((f) => /^(test|bench|src|scripts|\.ci|\.tmp)\//.test(f))).toEqual([]);
    // Apache-2.0 asks that a copy of the license goes with the work.
    expect(files).toContain("LICENSE");
  });

  it("builds no source maps or declarations: the package ships no src/ and no typed entry", () => {
    const path = join(ROOT, "tsconfig.build.json");
    const { config } = ts.readConfigFile(path, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, path);
    expect(options.sourceMap ?? false).toBe(false);
    expect(options.declaration ?? false).toBe(false);
    expect(options.outDir && relative(ROOT, options.outDir)).toBe("dist");
  });
});
