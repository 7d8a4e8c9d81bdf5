import { describe, expect, it } from "vitest";
import { POLICY_PRESETS, resolveAuditConfig } from "../../src/defend/config.js";
import { audit } from "../../src/defend/index.js";

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

  it("suspect_at above exclude_at names the field the file set, with its line", () => {
    const lineOf = (p: readonly (string | number)[]) =>
      ({ "verdict.suspect_at": 4, "verdict.exclude_at": 7 })[p.join(".")];
    const where = (o: unknown) => {
      try {
        resolveAuditConfig(o, undefined, { file: "a.yaml", lineOf });
      } catch (e) {
        return { text: String(e), where: (e as { where: unknown }).where };
      }
      throw new Error("no error");
    };
    expect(where({ verdict: { suspect_at: 0.95 } })).toEqual({
      text: expect.stringMatching(/a\.yaml:4: verdict\.suspect_at: must not exceed .*0\.9/),
      where: { file: "a.yaml", line: 4, field: "verdict.suspect_at" },
    });
    expect(where({ verdict: { exclude_at: 0.2 } }).where).toEqual({
      file: "a.yaml",
      line: 7,
      field: "verdict.exclude_at",
    });
  });

  it("a rule that matches an empty text (and so every text) is refused", () => {
    for (const bad of ["x*", "a|", "^", "(?:)"])
      expect(() => resolveAuditConfig({ safety: { rules: { unsafe_markers: [bad] } } })).toThrow(
        /safety\.rules\.unsafe_markers\.0: must not match an empty text/,
      );
    expect(() =>
      resolveAuditConfig({ safety: { rules: { refusals: ["\\bno\\b", "(no)?"] } } }),
    ).toThrow(/safety\.rules\.refusals\.1/);
    expect(resolveAuditConfig({ safety: { rules: { refusals: ["^no$"] } } }).safety.rules).toEqual({
      refusals: ["^no$"],
    });
  });

  it("audit() validates a config that looks resolved (one copied from an audit JSON)", () => {
    const js = [
      {
        comparison_id: "c",
        prompt: "q",
        response_a: "x",
        response_b: "y",
        rater_id: "r",
        choice: "a" as const,
      },
    ];
    const copied = structuredClone(audit({ judgments: js }).config) as Record<string, unknown>;
    (copied.verdict as Record<string, unknown>).suspect_at = 5;
    expect(() => audit({ judgments: js }, { config: copied })).toThrow(/verdict\.suspect_at/);
    const typo = structuredClone(audit({ judgments: js }).config) as Record<string, unknown>;
    (typo.signals as Record<string, Record<string, unknown>>).agreement!.tolerence = 0.1;
    expect(() => audit({ judgments: js }, { config: typo })).toThrow(/unknown field "tolerence"/);
    // A resolved config still gives its own policy and values.
    const strict = resolveAuditConfig({ signals: { agreement: { tolerance: 0.1 } } }, "strict");
    expect(audit({ judgments: js }, { config: strict }).config).toEqual(strict);
  });
});
