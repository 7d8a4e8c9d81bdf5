import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
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
