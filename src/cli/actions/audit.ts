/**
 * `keel audit`'s action, and the audit `keel export --clean` runs: read judgments (a file or the
 * store), run the defenses, write the audit JSON and the HTML report. The algorithms live in
 * src/defend; this file reads files, wires the chosen safety classifier (audit-safety.ts: the
 * rule lexicon, an ONNX model through onnxruntime-node, or an OpenAI-compatible moderation
 * endpoint) and prints.
 */
import { KeelError } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { redactUrl } from "../../core/redact.js";
import type { GoldAnswer, Rater } from "../../core/types.js";
import { CleanPlan } from "../../defend/clean.js";
import {
  type AuditConfig,
  AuditDataBuilder,
  type AuditResult,
  audit,
  auditToJson,
  type Policy,
  resolveAuditConfig,
} from "../../defend/index.js";
import { commitTogether, settleSetOf, writeFileAtomic } from "../../io/files.js";
import { parseRaterBatches, readGold, readJudgments, strictRecords } from "../../io/index.js";
import { writeJsonFile } from "../../io/json-file.js";
import { readJsonObject } from "../../io/json-read.js";
import { type ProtectedFile, resolveOutputTarget } from "../../io/output-target.js";
import { loadYamlConfig } from "../../io/yaml.js";
import type { AuditFlags } from "../commands/audit.js";
import { clip, formatTable, printJson, summaryPrinter, warn } from "../output.js";
import { Progress } from "../progress.js";
import { safetyFor } from "./audit-safety.js";
import { checkOutputFiles } from "./out-paths.js";
import { sourceFiles } from "./source-files.js";
import { withStore } from "./with-store.js";

/** Reads an audit config (YAML or JSON), naming file, line and field on errors. */
export async function loadAuditConfig(file: string, policy?: Policy): Promise<AuditConfig> {
  const { raw, source } = await loadYamlConfig(file);
  return resolveAuditConfig(raw, policy, source);
}

export interface AuditSources {
  /** The judgments, streamed into the audit's columns as they were read. */
  readonly judgments: AuditDataBuilder;
  readonly gold: GoldAnswer[];
  readonly raters: Rater[];
}

/** Reads judgments (file or store), gold and rater attributes. */
export async function readAuditSources(
  o: {
    in?: string;
    db?: string;
    gold?: string;
    raters?: string;
  },
  showProgress = false,
): Promise<AuditSources> {
  const builder = new AuditDataBuilder();
  let raters: Rater[] = [];
  const progress = (total?: number) =>
    new Progress({
      label: "audit: reading",
      unit: "judgments",
      ...(total !== undefined ? { total } : {}),
      enabled: showProgress,
    });
  if (o.in) {
    const p = progress();
    for await (const { record } of readJudgments(o.in)) {
      builder.add(record);
      p.update(builder.count);
    }
    p.finish();
  } else if (o.db) {
    // One snapshot: judgments appended meanwhile (a live server) are not half read.
    await withStore(o.db, (s) =>
      s.inSnapshot(async (store) => {
        const p = progress(await store.countJudgments());
        for await (const j of store.judgmentsTextsOnce()) {
          builder.add(j);
          p.update(builder.count);
        }
        p.finish();
        raters = await store.raters();
      }),
    );
  } else {
    throw new KeelError("KEEL_E_USAGE", "give --in <judgments.jsonl> or --db <store>");
  }
  const gold: GoldAnswer[] = [];
  if (o.gold) for await (const { record } of readGold(o.gold)) gold.push(record);
  if (o.raters) {
    raters = [];
    for await (const { record } of strictRecords(parseRaterBatches(o.raters))) raters.push(record);
  }
  return { judgments: builder, gold, raters };
}

/** Runs the whole audit the flags describe (also used by `keel export --clean`). */
export async function runAuditFromFlags(o: AuditFlags): Promise<{ result: AuditResult }> {
  const config = o.config
    ? await loadAuditConfig(o.config, o.policy)
    : resolveAuditConfig({}, o.policy);
  const show = !o.quiet && !o.json && Boolean(process.stderr.isTTY);
  const sources = await readAuditSources(o, show);
  const safety = await safetyFor(o, config, sources.judgments);
  // The analysis has no natural count to show; say what is happening while it runs.
  if (show)
    process.stderr.write(
      `audit: scoring ${sources.judgments.count.toLocaleString("en-US")} judgments (signals, groups, triggers, promotions)…\n`,
    );
  const result = audit(
    { judgments: sources.judgments, gold: sources.gold, raters: sources.raters },
    { config, safety, useGold: o.goldUse !== false },
  );
  return { result };
}

export async function runAudit(o: AuditFlags): Promise<void> {
  if (!o.out && !o.report && !o.json) {
    throw new KeelError("KEEL_E_USAGE", "give --out audit.json, --report audit.html or --json");
  }
  checkOutputFiles(o.out, o.report);
  checkNotAnInput(o);
  const { result } = await runAuditFromFlags(o);
  const s = result.summary;
  if (s.judgments === 0) throw noJudgments(o);
  const json = auditToJson(result);
  // With --out -, standard output carries the audit: the summary goes to standard error.
  const say = summaryPrinter(o.out);
  // Both outputs were checked before the audit and both texts are made before either is
  // written, so a bad --report path no longer leaves an audit JSON behind.
  const report = o.report
    ? // The charting library is large; load it only when a report is asked for.
      await (await import("../../report/index.js")).renderAuditReport(json as never, {
        // A report is for sharing: a store URL's password stays out of it.
        source: o.in ?? redactUrl(o.db ?? ""),
      })
    : undefined;
  // Streamed: millions of comparisons would pass V8's string limit as one string. Renamed into
  // place together: a crash between the two renames left a new audit beside an old report.
  await commitTogether("keel audit", async () => {
    if (o.out) await writeJsonFile(o.out, json);
    if (report !== undefined) await writeFileAtomic(o.report!, report);
  });
  if (o.json) {
    if (o.out)
      say(
        JSON.stringify(
          {
            summary: s,
            warnings: result.coverage.warnings,
            out: o.out,
            report: o.report ?? null,
          },
          null,
          2,
        ),
      );
    else printJson(json);
    return;
  }
  // On standard error, -q or not: "trusted" that means "not checked" must not pass unseen.
  for (const w of result.coverage.warnings) warn(`warning: ${w}`);
  if (!o.quiet) {
    say(
      `audited ${s.judgments} judgments of ${s.comparisons} comparisons by ${s.raters} raters (policy ${result.policy}, safety ${result.filters.safety_classifier})`,
    );
    say(
      `raters: ${s.trusted} trusted, ${s.suspect} suspect, ${s.excluded} excluded; comparisons excluded: ${s.excluded_comparisons}; judgment weight kept: ${(100 * s.kept_weight_share).toFixed(1)}%`,
    );
    if (s.unchecked_raters > 0)
      say(
        `unchecked: ${s.unchecked_raters} raters no detector had evidence on (${(100 * s.unchecked_judgment_share).toFixed(1)}% of judgments, ${(100 * s.unchecked_weight_share).toFixed(1)}% of the kept comparisons' weight)`,
      );
    const top = result.raters
      .filter((r) => r.verdict !== "trusted")
      .sort((a, b) => b.suspicion - a.suspicion)
      .slice(0, 10);
    if (top.length > 0) {
      say();
      say(
        formatTable(
          ["rater", "verdict", "suspicion", "first reason"],
          top.map((r) => [
            r.rater_id,
            r.verdict,
            r.suspicion.toFixed(3),
            // Reasons quote words of prompts and responses: untrusted text on a terminal.
            printable(clip(r.reasons[0] ?? "", 90)),
          ]),
        ),
      );
    }
    if (result.groups.length > 0)
      say(
        `\ngroups: ${result.groups.length} (largest: ${result.groups[0]!.rater_ids.length} raters)`,
      );
    if (result.triggers.length > 0)
      say(
        `triggers: ${result.triggers
          .slice(0, 5)
          .map((t) => `${printable(JSON.stringify(t.pattern))} (${t.score.toFixed(1)})`)
          .join(", ")}`,
      );
    if (result.promotions.length > 0)
      say(
        `promoted words: ${result.promotions
          .slice(0, 5)
          .map(
            (p) =>
              `${printable(JSON.stringify(p.pattern))} (${p.score.toFixed(1)}, ${p.raters} raters)`,
          )
          .join(", ")}`,
      );
    if (o.out) say(`\nwrote ${o.out}${o.report ? ` and ${o.report}` : ""}`);
    else if (o.report) say(`\nwrote ${o.report}`);
  }
}

/**
 * Refuses an output path that names one of the audit's inputs (the judgments, the store, the
 * gold, rater, config or classifier files) or the other output: the atomic write would replace
 * it with the audit, silently and after the work was done.
 */
function checkNotAnInput(o: AuditFlags): void {
  const inputs: ProtectedFile[] = [
    ...sourceFiles(o, "judgments"),
    ...(o.raters !== undefined ? [{ path: o.raters, what: "the rater attributes" }] : []),
    ...(o.config !== undefined ? [{ path: o.config, what: "the audit config" }] : []),
    ...(o.safetyTokenizer !== undefined
      ? [{ path: o.safetyTokenizer, what: "the safety tokenizer" }]
      : []),
    ...(o.safety?.startsWith("onnx:")
      ? [{ path: o.safety.slice(5), what: "the safety model" }]
      : []),
  ];
  const out = o.out !== undefined && o.out !== "-" ? resolveOutputTarget(o.out, inputs) : undefined;
  if (o.report !== undefined && o.report !== "-")
    resolveOutputTarget(o.report, [
      ...inputs,
      // Both may go to /dev/null; a file would end up holding the report alone.
      ...(out?.kind === "replace" ? [{ path: out.path, what: "the audit JSON (--out)" }] : []),
    ]);
}

/** An empty input has nothing to audit: refused, as keel aggregate refuses it. */
function noJudgments(o: AuditFlags): KeelError {
  if (o.in)
    return new KeelError("KEEL_E_INVALID_RECORD", "no judgments in the file", {
      where: { file: o.in },
      hint: "the file is empty or has only blank lines",
    });
  return new KeelError("KEEL_E_NOT_FOUND", "the store holds no judgments", {
    where: { file: redactUrl(o.db ?? "") },
    hint: "import judgments first (keel import FILE --db …), or give a file with --in",
  });
}

/** The plan from an audit JSON file, or from auditing the store now (balanced policy). */
export async function cleanPlanFor(o: {
  audit?: string;
  db: string;
  policy?: Policy;
  config?: string;
}): Promise<CleanPlan> {
  if (o.audit) {
    const file = o.audit;
    // An audit a killed `keel audit` left half renamed beside its report is finished first.
    settleSetOf(file);
    const { checkAuditFormat, parseAuditComparison, parseAuditJson } = await import(
      "../../defend/json.js"
    );
    // Entry by entry: `keel audit --out` streams its file, which may pass V8's string limit.
    const comparisons: import("../../defend/json.js").AuditedComparison[] = [];
    // A bad entry is reported after the format check: a newer keel's layout is refused as
    // such, not as a wrong field of its first comparison (`format` may come after the array).
    let bad: unknown;
    const { members, arrays } = await readJsonObject(file, {
      arrays: {
        comparisons: (c, i) => {
          if (bad !== undefined) return;
          try {
            comparisons.push(parseAuditComparison(c, i, file));
          } catch (e) {
            bad = e;
          }
        },
      },
    });
    checkAuditFormat(members, file);
    if (bad !== undefined) throw bad;
    // The other documented members (and `comparisons`, when it was absent or not an array).
    parseAuditJson(arrays.has("comparisons") ? { ...members, comparisons: [] } : members, file);
    return new CleanPlan(comparisons, file);
  }
  const { result } = await runAuditFromFlags({
    db: o.db,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.config ? { config: o.config } : {}),
  });
  return new CleanPlan(result.comparisons);
}
