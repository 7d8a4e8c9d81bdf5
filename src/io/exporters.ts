/**
 * Every export format, in one explicit list. An exporter receives judgments one at a time and
 * writes its rows to a file atomically (or to stdout); it may skip judgments its format cannot
 * express (ties have no chosen/rejected), and counts what it wrote and skipped, and why.
 */
import { KeelError } from "../core/errors.js";
import type { Judgment, PreferencePair } from "../core/types.js";
import { TextSink } from "./files.js";
import {
  csvRow,
  judgmentToCategorical,
  judgmentToPairwise,
  type TableFormat,
} from "./formats/crowdkit.js";
import { judgmentToJson } from "./formats/judgments.js";
import {
  checkOpenRlhfKeys,
  DEFAULT_OPENRLHF_KEYS,
  type OpenRlhfKeys,
  pairToOpenRlhfRow,
} from "./formats/openrlhf.js";
import { judgmentToPair, pairToTrlRow } from "./formats/trl.js";
import type { ProtectedFile } from "./output-target.js";

export interface ExportOptions {
  readonly table?: TableFormat;
  readonly openrlhfKeys?: Partial<OpenRlhfKeys>;
  /** Per-comparison weight and margin to attach to preference rows (e.g. from an audit). */
  readonly pairExtras?: (j: Judgment) => { weight?: number; margin?: number } | undefined;
  /** Files the output must not be (the store being exported): see TextSink. */
  readonly protect?: readonly ProtectedFile[];
}

/**
 * Why a judgment has no row: a tie has no chosen/rejected; two identical responses have no
 * preferred item (a pairwise table would compare an item with itself).
 */
export type SkipReason = "tie" | "identical";

export interface Exporter {
  write(j: Judgment): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  readonly written: number;
  readonly skipped: number;
  readonly skips: Readonly<Record<SkipReason, number>>;
}

export interface ExportFormat {
  readonly key: string;
  readonly description: string;
  open(path: string, opts: ExportOptions): Exporter;
}

class RowExporter implements Exporter {
  private readonly sink: TextSink;
  written = 0;
  skipped = 0;
  readonly skips: Record<SkipReason, number> = { tie: 0, identical: 0 };
  private started = false;

  constructor(
    path: string,
    opts: ExportOptions,
    private readonly toRow: (j: Judgment) => string | undefined,
    private readonly header?: string,
  ) {
    this.sink = new TextSink(path, opts.protect ? { protect: opts.protect } : {});
  }

  async write(j: Judgment): Promise<void> {
    if (!this.started) {
      this.started = true;
      if (this.header) await this.sink.write(this.header);
    }
    const row = this.toRow(j);
    if (row === undefined) {
      // Every format skips ties; crowd-kit-pairwise skips identical responses as well.
      this.skipped++;
      this.skips[j.choice === "tie" ? "tie" : "identical"]++;
    } else {
      this.written++;
      await this.sink.write(row);
    }
  }

  async commit(): Promise<void> {
    if (!this.started && this.header) await this.sink.write(this.header);
    await this.sink.commit();
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }
}

const jsonLine = (v: unknown) => `${JSON.stringify(v)}\n`;

function withExtras(j: Judgment, p: PreferencePair, opts: ExportOptions): PreferencePair {
  const extra = opts.pairExtras?.(j);
  if (!extra) return p;
  return {
    ...p,
    ...(extra.weight !== undefined ? { weight: extra.weight } : {}),
    ...(extra.margin !== undefined ? { margin: extra.margin } : {}),
  };
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  {
    key: "judgments",
    description: "keel judgments JSONL, one judgment per line (lossless)",
    open: (path, opts) => new RowExporter(path, opts, (j) => jsonLine(judgmentToJson(j))),
  },
  {
    key: "trl",
    description:
      "TRL preference JSONL prompt/chosen/rejected (+ weight with --clean, margin with --margin); ties skipped",
    open: (path, opts) =>
      new RowExporter(path, opts, (j) => {
        const p = judgmentToPair(j);
        return p ? jsonLine(pairToTrlRow(withExtras(j, p, opts))) : undefined;
      }),
  },
  {
    key: "openrlhf",
    description: "OpenRLHF reward/DPO JSONL with configurable key names; ties skipped",
    open: (path, opts) => {
      const keys = checkOpenRlhfKeys({ ...DEFAULT_OPENRLHF_KEYS, ...opts.openrlhfKeys });
      return new RowExporter(path, opts, (j) => {
        const p = judgmentToPair(j);
        return p ? jsonLine(pairToOpenRlhfRow(withExtras(j, p, opts), keys)) : undefined;
      });
    },
  },
  {
    key: "crowd-kit",
    description: "crowd-kit categorical table task,worker,label (label a/b/tie); CSV or JSONL",
    open: (path, opts) =>
      opts.table === "jsonl"
        ? new RowExporter(path, opts, (j) => jsonLine(judgmentToCategorical(j)))
        : new RowExporter(
            path,
            opts,
            (j) => {
              const r = judgmentToCategorical(j);
              return csvRow([r.task, r.worker, r.label]);
            },
            "task,worker,label\n",
          ),
  },
  {
    key: "crowd-kit-pairwise",
    description:
      "crowd-kit pairwise table worker,left,right,label (items = response ids); ties skipped",
    open: (path, opts) =>
      opts.table === "jsonl"
        ? new RowExporter(path, opts, (j) => {
            const r = judgmentToPairwise(j);
            return r ? jsonLine(r) : undefined;
          })
        : new RowExporter(
            path,
            opts,
            (j) => {
              const r = judgmentToPairwise(j);
              return r ? csvRow([r.worker, r.left, r.right, r.label]) : undefined;
            },
            "worker,left,right,label\n",
          ),
  },
];

export function exportFormat(key: string): ExportFormat {
  const f = EXPORT_FORMATS.find((x) => x.key === key);
  if (!f) {
    throw new KeelError("KEEL_E_UNKNOWN_FORMAT", `unknown export format ${JSON.stringify(key)}`, {
      hint: `use one of: ${EXPORT_FORMATS.map((x) => x.key).join(", ")}`,
    });
  }
  return f;
}
