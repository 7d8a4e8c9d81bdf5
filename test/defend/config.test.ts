import { describe, expect, it } from "vitest";
import { POLICY_PRESETS, resolveAuditConfig } from "../../src/defend/config.js";

describe("audit config", () => {
  it("resolves a policy preset and overrides any field", () => {
    expect(resolveAuditConfig({}).policy).toBe("balanced");
    expect(resolveAuditConfig({}, "strict")).toEqual(POLICY_PRESETS.strict);
    const c = resolveAuditConfig({
      policy: "permissive",
      signals: { agreement: { tolerance: 0.1 } },
    });
    expect(c.policy).toBe("permissive");
    expect(c.signals.agreement.tolerance).toBe(0.1);
    expect(c.signals.agreement.enabled).toBe(true);
    expect(c.verdict).toEqual(POLICY_PRESETS.permissive.verdict);
    // The argument wins over the file's policy.
    expect(resolveAuditConfig({ policy: "permissive" }, "strict").policy).toBe("strict");
  });

  it("policies order their thresholds", () => {
    const { strict, balanced, permissive } = POLICY_PRESETS;
    expect(strict.verdict.exclude_at).toBeLessThan(balanced.verdict.exclude_at);
    expect(balanced.verdict.exclude_at).toBeLessThan(permissive.verdict.exclude_at);
    expect(strict.weights.unsafe_preference).toBeLessThan(permissive.weights.unsafe_preference);
  });

  it("unknown keys and bad values are errors naming the field (and the line when known)", () => {
    expect(() => resolveAuditConfig({ signals: { agreement: { tolerence: 0.1 } } })).toThrow(
      /signals\.agreement.*unknown field "tolerence"/,
    );
    expect(() => resolveAuditConfig({ verdict: { exclude_at: 2 } })).toThrow(/verdict\.exclude_at/);
    expect(() => resolveAuditConfig({ safety: { rules: { refusals: ["("] } } })).toThrow(
      /regular expression/,
    );
    expect(() => resolveAuditConfig({ verdict: { suspect_at: 0.95 } })).toThrow(/must not exceed/);
    try {
      resolveAuditConfig({ polcy: "strict" }, undefined, { file: "a.yaml", lineOf: () => 3 });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).toMatch(/a\.yaml:3/);
      expect((e as { code: string }).code).toBe("KEEL_E_CONFIG");
    }
  });
});
