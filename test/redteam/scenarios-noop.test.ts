import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { applyAttack } from "../../src/redteam/index.js";

describe("applyAttack without an attacker", () => {
  const byCount = { panel: { raters: [{ type: "honest" as const, count: 20 }] } };

  it("leaves a panel given by count as it is at rate 0 or type none", () => {
    expect(applyAttack(byCount, { type: "none", rate: 0 })).toBe(byCount);
    expect(applyAttack(byCount, { type: "flip", rate: 0 })).toBe(byCount);
  });

  it("still needs shares to give an attacker its part of the panel", () => {
    try {
      applyAttack(byCount, { type: "flip", rate: 0.1 });
      expect.unreachable();
    } catch (e) {
      expect(isKeelError(e) && e.code).toBe("KEEL_E_CONFIG");
      expect(isKeelError(e) && e.where?.field).toBe("panel.raters");
    }
  });
});

describe("an attack's fields", () => {
  it("are refused where the attack type does not use them, naming the field", () => {
    // Before, each was accepted and dropped: the run carried no such target, trigger or team.
    for (const [attack, field, type] of [
      [{ type: "sybil", rate: 0.1, target: "Zentrix" }, "target", "entity"],
      [{ type: "flip", rate: 0.1, trigger: "XYZ" }, "trigger", "backdoor"],
      [{ type: "entity", rate: 0.1, claim: 0.5 }, "claim", "backdoor"],
      [{ type: "backdoor", rate: 0.1, group_size: 3 }, "group_size", "sybil"],
    ] as const) {
      try {
        parsePipelineConfig({ attack });
        expect.unreachable();
      } catch (e) {
        expect(isKeelError(e) && e.code).toBe("KEEL_E_CONFIG");
        expect(isKeelError(e) && e.where?.field).toBe(`attack.${field}`);
        expect(String((e as Error).message)).toContain(`only a ${type} attack uses it`);
      }
    }
    // Each where it belongs is accepted.
    for (const attack of [
      { type: "sybil", rate: 0.1, group_size: 3 },
      { type: "backdoor", rate: 0.1, trigger: "XYZ", claim: 0.5 },
      { type: "entity", rate: 0.1, target: "Zentrix" },
    ] as const)
      expect(parsePipelineConfig({ attack }).attack).toMatchObject(attack);
  });
});
