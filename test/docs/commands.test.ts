/**
 * Every `keel …` command that README.md and docs/*.md show (shell blocks and inline code) names
 * a real command, uses only that command's flags, and — when it names files, as a command a reader
 * would copy does — gives the options the command cannot run without (`-o, --out` of
 * `keel run` and `keel world generate`, one of `--out`/`--report`/`--json` for `keel audit`).
 * docs/cli.md and docs/errors.md are generated from the program and checked by cli-docs.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GENERATED = new Set(["cli.md", "errors.md"]);

/** Options a command's action requires beyond commander's mandatory ones: at least one of each set. */
const ONE_OF: Record<string, readonly (readonly string[])[]> = {
  audit: [["--out", "--report", "--json"]],
};

interface Use {
  readonly where: string;
  readonly text: string;
}

/** `keel …` invocations: each shell segment of a sh/bash block, and each inline code span. */
function usesIn(file: string): Use[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const uses: Use[] = [];
  const parts = text.split(/^[ \t]*```/m);
  let line = 1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i % 2 === 1) {
      const lang = part.slice(0, part.indexOf("\n")).trim();
      if (lang === "" || lang === "sh" || lang === "bash") {
        const body = part.slice(part.indexOf("\n") + 1).replace(/\\\n/g, " ");
        for (const [n, l] of body.split("\n").entries()) {
          for (const seg of l.replace(/\s#.*$/, "").split(/\s(?:&&|\|\||\||;)\s/)) {
            const s = seg.trim().replace(/^([A-Z_]+=\S*\s+)+/, "");
            if (/^(npx )?keel /.test(s)) uses.push({ where: `${file}:${line + 1 + n}`, text: s });
          }
        }
      }
    } else {
      for (const m of part.matchAll(/`((?:npx )?keel [^`]*)`/g)) {
        const at = line + part.slice(0, m.index).split("\n").length - 1;
        uses.push({ where: `${file}:${at}`, text: m[1]!.replace(/\s+/g, " ") });
      }
    }
    line += part.split("\n").length - 1;
  }
  return uses;
}

function problems(program: Command, use: Use): string[] {
  const words = use.text
    .replace(/^npx /, "")
    .split(" ")
    .slice(1)
    .map((w) => w.replace(/^[[(]+|[\])]+$/g, ""))
    .filter(Boolean);
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === words[i] || c.aliases().includes(words[i]!));
    if (!sub) break;
    cmd = sub;
  }
  if (cmd === program) return [`${use.where}: no command "keel ${words[0] ?? ""}"`];
  // A command with subcommands, named alone or with alternatives (`launch status|logs`), is prose.
  if (cmd.commands.length > 0) return [];
  const name = `keel ${use.text
    .replace(/^npx /, "")
    .split(" ")
    .slice(1, 1 + i)
    .join(" ")}`;
  const byFlag = new Map<string, { value: boolean; long: string }>();
  for (const o of cmd.options) {
    const entry = { value: o.required || o.optional, long: o.long ?? o.short ?? "" };
    if (o.long) byFlag.set(o.long, entry);
    if (o.short) byFlag.set(o.short, entry);
  }
  byFlag.set("--help", { value: false, long: "--help" });
  byFlag.set("-h", { value: false, long: "--help" });
  const out: string[] = [];
  const given = new Set<string>();
  let withValues = false;
  for (let j = i; j < words.length; j++) {
    const w = words[j]!;
    if (w === "--") break; // what follows goes to another program (keel launch)
    const flag = /^(--?[A-Za-z][\w-]*)/.exec(w)?.[1];
    if (!flag) continue;
    const known = byFlag.get(flag);
    if (!known) {
      out.push(`${use.where}: ${name} has no option ${flag}`);
      continue;
    }
    given.add(known.long);
    const value = words[j + 1];
    if (known.value && value !== undefined && /[/.]/.test(value) && !value.startsWith("-"))
      withValues = true;
  }
  // A mention such as `keel train --check` or `keel export -o FILE` names a flag, and one with
  // `…` leaves out the rest on purpose; a command that names files is one to copy and run.
  if (withValues && !use.text.includes("…")) {
    for (const o of cmd.options) {
      if (o.mandatory && !given.has(o.long ?? ""))
        out.push(`${use.where}: ${name} needs ${o.long}`);
    }
    for (const set of ONE_OF[cmd.name()] ?? []) {
      if (!set.some((f) => given.has(f)))
        out.push(`${use.where}: ${name} needs ${set.join(" or ")}`);
    }
  }
  return out;
}

describe("the keel commands the docs show", () => {
  const files = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md") && !GENERATED.has(f))
      .map((f) => `docs/${f}`),
  ];
  const uses = files.flatMap(usesIn);

  it("finds the commands (the extraction itself works)", () => {
    expect(uses.length).toBeGreaterThan(200);
    expect(uses.some((u) => u.text.startsWith("keel audit --in judgments.jsonl --out"))).toBe(true);
    expect(uses.some((u) => u.text.startsWith("keel serve-rm --reward-model"))).toBe(true);
  });

  it("name real commands, their real options, and the options they cannot run without", () => {
    const program = buildProgram();
    expect(uses.flatMap((u) => problems(program, u))).toEqual([]);
  });

  it("flags a missing --out, an unknown option and an unknown command", () => {
    const program = buildProgram();
    const check = (text: string) => problems(program, { where: "x.md:1", text });
    expect(check("keel run --config examples/pipeline.yaml")).toEqual([
      "x.md:1: keel run needs --out",
    ]);
    expect(check("keel audit --in j.jsonl")).toEqual([
      "x.md:1: keel audit needs --out or --report or --json",
    ]);
    expect(check("keel world generate -c w.yaml --outt runs/w")).toContain(
      "x.md:1: keel world generate has no option --outt",
    );
    expect(check("keel wrold generate")).toEqual(['x.md:1: no command "keel wrold"']);
    expect(check("keel train --check")).toEqual([]);
  });
});
