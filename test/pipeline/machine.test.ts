import { mkdtempSync, readFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cpuRecord, kernelIsa } from "../../src/pipeline/machine.js";
import { RunDir } from "../../src/pipeline/rundir.js";

describe("the processor a run records", () => {
  it("keeps the kernel-relevant extensions of a cpuinfo flags line, sorted", () => {
    const x86 = "processor\t: 0\nflags\t\t: fpu vme avx2 sse4_2 avx512f pni avx512_vnni fma ht\n";
    expect(kernelIsa(x86)).toEqual(["avx2", "avx512_vnni", "avx512f", "fma", "sse4_2"]);
    const arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm sve asimddp cpuid\n";
    expect(kernelIsa(arm)).toEqual(["asimd", "asimddp", "sve"]);
    expect(kernelIsa("processor\t: 0\nmodel name\t: x\n")).toBeNull();
  });

  it("writes this machine's processor into a new run's manifest and into each resume", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "keel-machine-")), "run");
    await RunDir.open(out, { seed: 1 }, () => undefined, false).saveManifest();
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.cpu.model).toBe(cpus()[0]?.model.trim() || "unknown");
    expect(m.cpu.cores).toBe(cpus().length);
    if (process.platform === "linux") {
      const flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
      expect(m.cpu.isa).toEqual(kernelIsa(readFileSync("/proc/cpuinfo", "utf8")));
      if (/\bavx2\b/.test(flags)) expect(m.cpu.isa).toContain("avx2");
    }
    await RunDir.open(out, { seed: 1 }, () => undefined, true).saveManifest();
    const resumed = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(resumed.resumes).toHaveLength(1);
    expect(resumed.resumes[0].cpu).toEqual(cpuRecord());
    expect(resumed.cpu).toEqual(m.cpu);
  });
});
