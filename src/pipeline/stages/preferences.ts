/**
 * Each arm's preference set: raw judgments by plain majority (undefended) or the audit's
 * cleaned, weighted preferences (defended), read from the run's feedback store that collection
 * filled (data.ts).
 */
import { mkdir } from "node:fs/promises";
import { KeelError } from "../../core/errors.js";
import type { Judgment, PreferencePair } from "../../core/types.js";
import { contentToText } from "../../core/types.js";
import { CleanPlan } from "../../defend/clean.js";
import { auditToJson, audit as runAudit } from "../../defend/index.js";
import { writeFileAtomic } from "../../io/files.js";
import { readJsonObject } from "../../io/json-read.js";
import { JsonlWriter } from "../../io/jsonl.js";
import { renderAuditReport } from "../../report/index.js";
import type { Arm } from "../config.js";
import type { Plan } from "../plan.js";
import type { Stage, StageContext } from "../runner.js";
import { storedJudgments } from "./data.js";
import { checkPpoPrompts, trainPrompts } from "./train.js";

export interface TruthRater {
  readonly rater_id: string;
  readonly type: string;
}

export async function truthRaters(ctx: StageContext): Promise<TruthRater[]> {
  // The comparisons, the bulk of a large world's truth.json, are passed over unparsed.
  const { members } = await readJsonObject(ctx.run.file("world/truth.json"), {
    arrays: { comparisons: "skip" },
  });
  return members.raters as TruthRater[];
}

/** Each comparison's majority choice between a and b (ties and split votes left out). */
function majorityVote(judgments: readonly Judgment[]): [Judgment, "a" | "b"][] {
  const votes = new Map<string, { j: Judgment; a: number; b: number }>();
  for (const j of judgments) {
    const v = votes.get(j.comparison_id) ?? { j, a: 0, b: 0 };
    if (j.choice === "a") v.a++;
    else if (j.choice === "b") v.b++;
    votes.set(j.comparison_id, v);
  }
  const out: [Judgment, "a" | "b"][] = [];
  for (const v of votes.values()) if (v.a !== v.b) out.push([v.j, v.a > v.b ? "a" : "b"]);
  return out;
}

function pairOf(j: Judgment, chooseA: boolean, weight?: number): PreferencePair {
  const [c, r] = chooseA ? [j.response_a, j.response_b] : [j.response_b, j.response_a];
  return {
    prompt: contentToText(j.prompt),
    chosen: contentToText(c),
    rejected: contentToText(r),
    ...(weight !== undefined ? { weight } : {}),
  };
}

/**
 * An arm left with no preference pair: every comparison a tie or a split vote (undefended), or
 * every one excluded or undecided by the audit (defended). Its reward model or DPO would fail a
 * stage later as "no training pairs" in a trainer's terms; here the stage, the counts and the
 * cause are known.
 */
function noPairs(
  arm: Arm,
  judgments: readonly Judgment[],
  audit: Record<string, unknown>,
): KeelError {
  const comparisons = new Set(judgments.map((j) => j.comparison_id)).size;
  const of = `${judgments.length} judgment${judgments.length === 1 ? "" : "s"} on ${comparisons} comparison${comparisons === 1 ? "" : "s"}`;
  if (arm === "undefended")
    return new KeelError(
      "KEEL_E_CONFLICT",
      `undefended/preferences: no preference pair from ${of}: every comparison's vote is a tie or split evenly between a and b`,
      { hint: "collect judgments that prefer one response, or more raters per comparison" },
    );
  const s = (audit.audit ?? {}) as Record<string, unknown>;
  return new KeelError(
    "KEEL_E_CONFLICT",
    `defended/preferences: the audit kept no preference pair from ${of} (raters: ${s.excluded ?? "?"} excluded, ${s.suspect ?? "?"} suspect, ${s.trusted ?? "?"} trusted; ${s.excluded_comparisons ?? "?"} comparisons excluded; the rest undecided)`,
    {
      where: { field: "audit.policy" },
      hint: "see defended/audit.json for why; a more permissive audit.policy keeps more, or run the undefended arm alone (arms: [undefended])",
    },
  );
}

/**
 * An arm's preference set, one pair per comparison in both arms so that they train on the
 * same amount of data. Undefended: the plain majority of the raters' votes, every rater
 * trusted, ties and split votes dropped. Defended: the audit's cleaned set — one pair per kept
 * comparison, weighted by the audit's weight times the certainty of its preference
 * (src/defend/clean.ts).
 */
export function preferencesStage(plan: Plan, arm: Arm): Stage {
  const defended = arm === "defended";
  return {
    key: `${arm}/preferences`,
    title: defended
      ? "defended: audit raters and feedback, clean and weight the preferences"
      : "undefended: preferences by plain majority vote",
    weight: defended ? 3 : 0.5,
    config: defended ? { audit: plan.config.audit } : {},
    after: ["collect"],
    outputs: defended
      ? [`${arm}/pairs.jsonl`, `${arm}/audit.json`, `${arm}/audit.html`]
      : [`${arm}/pairs.jsonl`],
    async run(ctx) {
      // Here as well as at the policy stage: too few prompts for PPO is known now, before the
      // reward model trains for minutes.
      const ppo = plan.arms.find((x) => x.arm === arm)?.ppo;
      if (ppo)
        checkPpoPrompts(
          arm,
          (await trainPrompts(ctx, plan)).train.length,
          ppo.rollout.batch_size,
          plan,
        );
      await mkdir(ctx.run.file(arm), { recursive: true });
      const judgments = await storedJudgments(ctx);
      const pairs: PreferencePair[] = [];
      let result: Record<string, unknown> = {};
      if (!defended) {
        for (const [j, choice] of majorityVote(judgments)) pairs.push(pairOf(j, choice === "a"));
      } else {
        ctx.progress(0.1, "auditing");
        const a = runAudit(
          { judgments },
          { policy: plan.config.audit.policy, config: plan.config.audit.config },
        );
        const json = auditToJson(a);
        await writeFileAtomic(
          ctx.run.file(arm, "audit.json"),
          `${JSON.stringify(json, null, 2)}\n`,
        );
        await writeFileAtomic(
          ctx.run.file(arm, "audit.html"),
          await renderAuditReport(json as never, { title: "keel audit (defended arm)" }),
        );
        const clean = new CleanPlan(a.comparisons);
        for (const j of judgments) {
          const c = clean.choose(j);
          if (c) pairs.push(pairOf(c, c.choice === "a", clean.weightOf(j)));
        }
        // Scored against the world's truth only when the world's panel made the judgments.
        const types =
          plan.config.collect.from === "panel"
            ? new Map((await truthRaters(ctx)).map((r) => [r.rater_id, r.type]))
            : new Map<string, string>();
        const adversary = (id: string) =>
          !["honest", "careless"].includes(types.get(id) ?? "honest");
        result = {
          audit: a.summary,
          adversaries: a.raters.filter((r) => adversary(r.rater_id)).length,
          adversaries_flagged: a.raters.filter(
            (r) => adversary(r.rater_id) && r.verdict !== "trusted",
          ).length,
          honest: a.raters.filter((r) => types.get(r.rater_id) === "honest").length,
          honest_excluded: a.raters.filter(
            (r) => types.get(r.rater_id) === "honest" && r.verdict === "excluded",
          ).length,
          groups: a.groups.length,
          triggers: a.triggers.slice(0, 3).map((t) => t.pattern),
        };
      }
      if (pairs.length === 0) throw noPairs(arm, judgments, result);
      const w = new JsonlWriter(ctx.run.file(arm, "pairs.jsonl"));
      for (const p of pairs) await w.write(p);
      await w.commit();
      return { ...result, pairs: pairs.length, judgments: judgments.length };
    },
  };
}
