/**
 * Judgments in any script through `keel import`, `keel export` and `keel ledger`: keel stores
 * text exactly as given — NFC and NFD forms of one judgment are different judgments with
 * different ledger hashes, never normalised silently — and an export imported into a new store
 * gives back the same bytes and a ledger that verifies.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-i18n-");

const TEXTS = [
  "我们的模型在这个任务上表现得非常好，因为它学习了大量的中文数据。",
  "がぎぐげご".normalize("NFD"),
  "สวัสดีครับ ผมชื่อสมชาย",
  "مَرْحَبًا بِالْعَالَم",
  "שָׁלוֹם עוֹלָם",
  "नमस्ते दुनिया",
  "\u0301\u093f lone marks",
  "👩🏽‍💻 👨‍👩‍👧‍👦 🇯🇵 👍🏿",
  "１２３ ＡＢＣ",
  "\u202eRTL override\u202c \u200f",
  "café résumé",
  "café résumé".normalize("NFD"),
  "mid \ufeff BOM, tab\there, CR\r\nLF",
];

function judgmentsFile(texts: readonly string[], form?: "NFC" | "NFD"): string {
  const f = (s: string) => (form ? s.normalize(form) : s);
  return `${texts
    .map((t, i) =>
      JSON.stringify({
        comparison_id: `c${i}`,
        prompt: f(`问题 ${i}: ${t}`),
        response_a: f(t),
        response_b: f(`${t} — 第二`),
        rater_id: f(i % 2 ? "評価者" : "José"),
        choice: i % 3 === 0 ? "tie" : i % 2 ? "a" : "b",
      }),
    )
    .join("\n")}\n`;
}

async function cli(args: string[]) {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function storeWith(name: string, file: string, extra: string[] = []): Promise<string> {
  const db = join(root, `${name}.db`);
  await cli(["init", "--db", db, "-q"]);
  await cli(["import", file, "--db", db, "-q", ...extra]);
  return db;
}

async function head(db: string): Promise<string> {
  const r = await cli(["ledger", "head", "--db", db, "--json"]);
  return JSON.stringify(JSON.parse(r.stdout));
}

describe("text in any script through import, export and the ledger", () => {
  it("exports judgments JSONL byte for byte, and the re-imported store verifies", async () => {
    const src = join(root, "in.jsonl");
    writeFileSync(src, judgmentsFile(TEXTS));
    const a = await storeWith("a", src);
    const out = join(root, "out.jsonl");
    await cli(["export", "-f", "judgments", "-o", out, "--db", a, "-q"]);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    const b = await storeWith("b", out);
    await cli(["ledger", "verify", "--db", b, "-q"]);
    const again = join(root, "again.jsonl");
    await cli(["export", "-f", "judgments", "-o", again, "--db", b, "-q"]);
    expect(readFileSync(again).equals(readFileSync(src))).toBe(true);
  });

  it("keeps NFC and NFD apart: different ledger heads, each exported as imported", async () => {
    const heads: string[] = [];
    for (const form of ["NFC", "NFD"] as const) {
      const src = join(root, `${form}.jsonl`);
      writeFileSync(src, judgmentsFile(TEXTS, form));
      const db = await storeWith(form, src);
      await cli(["ledger", "verify", "--db", db, "-q"]);
      const out = join(root, `${form}.out.jsonl`);
      await cli(["export", "-f", "judgments", "-o", out, "--db", db, "-q"]);
      expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
      heads.push(await head(db));
    }
    expect(heads[0]).not.toBe(heads[1]);
  });

  it("round-trips TRL preference JSONL in any script", async () => {
    const src = join(root, "trl.jsonl");
    writeFileSync(
      src,
      `${TEXTS.map((t, i) => JSON.stringify({ prompt: `p${i} ${t}`, chosen: `${t} 好`, rejected: TEXTS[(i + 1) % TEXTS.length] })).join("\n")}\n`,
    );
    const db = await storeWith("trl", src, ["--format", "trl", "--rater", "評価者"]);
    const out = join(root, "trl.out.jsonl");
    await cli(["export", "-f", "trl", "-o", out, "--db", db, "-q"]);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    await cli(["ledger", "verify", "--db", db, "-q"]);
  });

  it("reads a crowd-kit CSV with a byte-order mark and CRLF, worker ids in any script", async () => {
    const src = join(root, "base.jsonl");
    writeFileSync(src, judgmentsFile(TEXTS.slice(0, 3)));
    const db = await storeWith("ck", src);
    const csv = join(root, "labels.csv");
    const workers = ["ワーカー", "שלום, עולם", "café", "café".normalize("NFD")];
    writeFileSync(
      csv,
      `\ufefftask,worker,label\r\n${workers.map((w, i) => `c${i % 3},"${w}",a`).join("\r\n")}\r\n`,
    );
    await cli(["import", csv, "--format", "crowd-kit", "--db", db, "-q"]);
    const out = join(root, "labels.out.csv");
    await cli(["export", "-f", "crowd-kit", "-o", out, "--db", db, "-q"]);
    const rows = readFileSync(out, "utf8");
    for (const w of workers) expect(rows).toContain(w.includes(",") ? `"${w}"` : `,${w},`);
    await cli(["ledger", "verify", "--db", db, "-q"]);
  });
});
