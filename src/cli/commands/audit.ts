/**
 * `keel audit`: read judgments (a file or the store), run the defenses, write the audit JSON
 * and, optionally, the HTML report. This file defines the options; the action (actions/audit.ts)
 * reads the files, wires the chosen safety classifier and prints a summary.
 */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { POLICIES, type Policy } from "../../defend/config.js";
import { addDbOption, numberArg, oneOf } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface AuditFlags {
  in?: string;
  db?: string;
  gold?: string;
  raters?: string;
  policy?: Policy;
  config?: string;
  safety?: string;
  safetyTokenizer?: string;
  safetyThreshold?: number;
  safetyLabel?: number;
  safetyModel?: string;
  safetyWithPrompt?: boolean;
  goldUse?: boolean;
  out?: string;
  report?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * A probability (0..1) or a class index: a threshold above 1 or a label that is no class would
 * silently turn the safety baseline off (nothing flagged), one below 0 flag everything.
 */
function numberFlag(flag: string, kind: "probability" | "index") {
  return (v: string): number => {
    const n = numberArg(v);
    const ok = kind === "probability" ? n >= 0 && n <= 1 : Number.isSafeInteger(n) && n >= 0;
    if (!ok)
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be ${kind === "probability" ? "a number from 0 to 1" : "a class index (0, 1, …)"}, got ${JSON.stringify(v)}`,
      );
    return n;
  };
}

export function addAuditSourceOptions(cmd: Command): Command {
  return cmd
    .option("--gold <file>", "gold answers: JSONL {comparison_id, gold} or CSV task,true_label")
    .option(
      "--raters <file>",
      "rater attributes JSONL {rater_id, attributes} (with --db: the store's by default)",
    )
    .option(
      "--policy <policy>",
      `strict, balanced (default) or permissive`,
      oneOf("--policy", POLICIES),
    )
    .option("--config <file>", "audit config (YAML/JSON) overriding the policy's thresholds")
    .option(
      "--safety <spec>",
      "safety baseline: lexicon (default), onnx:MODEL.onnx, moderation:BASE_URL",
    )
    .option("--safety-tokenizer <file>", "tokenizer.json (byte-level BPE) for --safety onnx:")
    .option(
      "--safety-threshold <p>",
      "unsafe when the classifier's probability (or top category score) reaches this",
      numberFlag("--safety-threshold", "probability"),
    )
    .option(
      "--safety-label <index>",
      "ONNX: index of the unsafe class in the output (default 1)",
      numberFlag("--safety-label", "index"),
    )
    .option("--safety-model <name>", "moderation: model name to send")
    .option(
      "--safety-with-prompt",
      "classify prompt and response together instead of the response alone",
    )
    .option("--no-gold-use", "ignore gold answers (rely on agreement alone)");
}

export const auditCommand: CommandModule = {
  name: "audit",
  register(program: Command) {
    const cmd = program
      .command("audit")
      .description(
        "audit raters and feedback for poisoning: verdicts, per-comparison weights, groups, triggers",
      )
      .option("-i, --in <file>", "judgments JSONL (otherwise the store given by --db)")
      .option("-o, --out <file>", "write the audit JSON here (DESIGN.md layout)")
      .option("--report <file>", "write a self-contained HTML report here")
      .option("--json", "print the summary (or, without --out, the audit) as JSON")
      .option("-q, --quiet", "print nothing but errors");
    addAuditSourceOptions(cmd);
    addDbOption(cmd).addHelpText(
      "after",
      "\nExamples:\n  keel audit --in judgments.jsonl --out audit.json --report audit.html\n" +
        "  keel audit --db keel.db --policy strict --out audit.json\n" +
        "  keel audit --in j.jsonl --safety moderation:http://localhost:8000/v1 --out audit.json\n" +
        "  keel audit --in j.jsonl --safety onnx:tox.onnx --safety-tokenizer tokenizer.json --out audit.json",
    );
    cmd.action(async (o: AuditFlags) => {
      const { runAudit } = await import("../actions/audit.js");
      // --db has a default; a given --in wins.
      await runAudit(o.in ? { ...o, db: undefined } : o);
    });
  },
};
