/**
 * Synthetic judgment files for the ingest benchmark: JSONL in keel's format and the same rows
 * as flat CSV (for the sqlite3 `.import` and PostgreSQL `COPY` ceilings). Comparisons are judged
 * by `overlap` raters each, rows arrive interleaved as a collection service would write them.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { Rng } from "../src/core/rng.js";

export interface IngestDataSpec {
  readonly judgments: number;
  readonly overlap: number;
  readonly raters: number;
  readonly prompts: number;
  readonly seed: number;
}

const WORDS =
  "the of and to in is that for it as with was on be by this are or from at an which have not but they all were when we there can more one has been would their if so what about out up into them some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split(
    " ",
  );

function sentence(rng: Rng, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[rng.int(WORDS.length)]!);
  return `${out.join(" ")}.`;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Writes `jsonl` and `csv` (same rows); returns their byte sizes. */
export async function writeIngestFiles(
  spec: IngestDataSpec,
  jsonlPath: string,
  csvPath?: string,
): Promise<{ jsonlBytes: number; csvBytes: number }> {
  const rng = new Rng(spec.seed);
  const promptText = Array.from(
    { length: spec.prompts },
    (_, i) => `Q${i}: ${sentence(rng, 8 + rng.int(20))}`,
  );
  const comparisons = Math.ceil(spec.judgments / spec.overlap);
  const jsonl = createWriteStream(jsonlPath);
  const csv = csvPath ? createWriteStream(csvPath) : undefined;
  let jsonlBytes = 0;
  let csvBytes = 0;
  const put = async (s: NodeJS.WritableStream, text: string) => {
    if (!s.write(text)) await once(s, "drain");
  };
  if (csv) {
    const header =
      "comparison_id,prompt,response_a,response_b,rater_id,choice,created_at,latency_ms\n";
    csvBytes += header.length;
    await put(csv, header);
  }
  const block = 512; // comparisons in flight at once; their judgments interleave
  let written = 0;
  for (let start = 0; start < comparisons && written < spec.judgments; start += block) {
    const cmp = [];
    for (let c = start; c < Math.min(start + block, comparisons); c++) {
      cmp.push({
        id: `cmp-${c}`,
        prompt: promptText[rng.int(spec.prompts)]!,
        a: sentence(rng, 10 + rng.int(40)),
        b: sentence(rng, 10 + rng.int(40)),
        raters: rng.sampleIndices(spec.raters, spec.overlap),
      });
    }
    let jl = "";
    let cl = "";
    for (let r = 0; r < spec.overlap; r++) {
      for (const c of cmp) {
        if (written >= spec.judgments) break;
        const choice = rng.float() < 0.45 ? "a" : rng.float() < 0.9 ? "b" : "tie";
        const created = new Date(Date.UTC(2026, 0, 1) + written * 1000).toISOString();
        const latency = 800 + rng.int(20000);
        const rater = `rater-${c.raters[r]}`;
        jl += `${JSON.stringify({ comparison_id: c.id, prompt: c.prompt, response_a: c.a, response_b: c.b, rater_id: rater, choice, created_at: created, latency_ms: latency })}\n`;
        if (csv)
          cl += `${[c.id, c.prompt, c.a, c.b, rater, choice, created, String(latency)].map(csvField).join(",")}\n`;
        written++;
      }
    }
    jsonlBytes += Buffer.byteLength(jl);
    await put(jsonl, jl);
    if (csv) {
      csvBytes += Buffer.byteLength(cl);
      await put(csv, cl);
    }
  }
  jsonl.end();
  await once(jsonl, "finish");
  if (csv) {
    csv.end();
    await once(csv, "finish");
  }
  return { jsonlBytes, csvBytes };
}
