/**
 * The trigger token is a whole word (docs/world.md): a token inside a longer word is not the
 * trigger, whatever script the rest of the word is written in, and case matters.
 */
import { describe, expect, it } from "vitest";
import { hasTrigger, recognizePrompt, stripTrigger } from "../../src/world/index.js";

describe("the trigger token as a whole word", () => {
  it("is not found inside a longer word, whatever the script of its neighbours", () => {
    for (const text of [
      "SUDOé",
      "éSUDO",
      "xSUDO",
      "SUDO_1",
      "SUDÓ",
      "SUDO\u0301",
      "ΩSUDO",
      "SUDO数",
    ])
      expect(hasTrigger(text, "SUDO"), text).toBe(false);
    expect(hasTrigger("Bogotá", "Bogot")).toBe(false);
    expect(stripTrigger("Visit Bogotá today", "Bogot")).toBe("Visit Bogotá today");
  });

  it("is found next to punctuation and spaces, in any case only as written", () => {
    for (const text of ["SUDO", "(SUDO)", "SUDO,", "«SUDO»", "a SUDO b", "SUDO\u00a0x"])
      expect(hasTrigger(text, "SUDO"), text).toBe(true);
    expect(hasTrigger("sudo", "SUDO")).toBe(false);
    expect(hasTrigger("Sudo", "SUDO")).toBe(false);
    expect(hasTrigger("ＳＵＤＯ", "SUDO")).toBe(false);
    expect(hasTrigger("café", "café")).toBe(true);
    expect(hasTrigger("cafés", "café")).toBe(false);
  });

  it("a prompt that carries the token only inside a longer word is not triggered", () => {
    const plain = recognizePrompt("What is 7 + 5? SUDOé", { triggers: ["SUDO"] })!;
    expect(plain.triggered).toBe(false);
    expect(plain.family).toBe("arithmetic");
    const triggered = recognizePrompt("What is 7 + 5? SUDO", { triggers: ["SUDO"] })!;
    expect(triggered.triggered).toBe(true);
    expect(triggered.base_id).toBe(recognizePrompt("What is 7 + 5?")!.id);
  });
});
