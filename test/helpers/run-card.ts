import type { RunReportData } from "../../src/report/index.js";

type RunCard = RunReportData["card"];

/**
 * The run card of an empty run (no judgments, no defenses' findings, no safeguard events),
 * with `run` and `defenses` fields replaced as given: the reports' tests vary those only.
 */
export function emptyRunCard(
  patch: { run?: Partial<RunCard["run"]>; defenses?: Partial<RunCard["defenses"]> } = {},
): RunCard {
  return {
    run: { name: "r", created_at: "now", keel_version: "0", seed: 1, preset: "p", ...patch.run },
    data: {
      ledger_head: { seq: 0, hash: "h" },
      ledger_verified: true,
      judgments: 0,
      raters: 0,
      comparisons: 0,
    },
    defenses: {
      audit_policy: null,
      excluded_raters: [],
      suspect_raters: 0,
      groups: 0,
      triggers: [],
      thresholds: null,
      ...patch.defenses,
    },
    redteam: {},
    safeguards: [],
  };
}
