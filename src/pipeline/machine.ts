/**
 * The processor a run ran on, for its manifest. The engine's float kernels come from ONNX
 * Runtime, which picks them by instruction set at run time, so the same commit, config and seed
 * can give other figures on another CPU (docs/results.md, "Same seed, another CPU"); the record
 * says which processor and which of the extensions those kernels dispatch on it had.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface CpuRecord {
  /** The model name the operating system reports ("unknown" when it reports none). */
  readonly model: string;
  readonly cores: number;
  /**
   * The SIMD extensions among those ONNX Runtime's kernels look for that the processor has,
   * sorted; null where the operating system does not list them (/proc/cpuinfo is Linux's).
   */
  readonly isa: readonly string[] | null;
}

/** The extensions that can change which float kernels run (x86 and Arm names as Linux gives them). */
const KERNEL_ISA = new Set([
  "sse3",
  "ssse3",
  "sse4_1",
  "sse4_2",
  "avx",
  "avx2",
  "fma",
  "f16c",
  "avx512f",
  "avx512dq",
  "avx512bw",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "avx512_fp16",
  "avx_vnni",
  "amx_tile",
  "amx_bf16",
  "amx_int8",
  "asimd",
  "asimddp",
  "asimdhp",
  "i8mm",
  "bf16",
  "sve",
  "sve2",
]);

/** The kernel-relevant extensions in a /proc/cpuinfo text (its first flags or Features line). */
export function kernelIsa(cpuinfo: string): string[] | null {
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(cpuinfo);
  if (line === null) return null;
  const have = new Set(line[1]!.trim().split(/\s+/));
  return [...KERNEL_ISA].filter((f) => have.has(f)).sort();
}

let cached: CpuRecord | undefined;

/** This machine's processor (read once per process). */
export function cpuRecord(): CpuRecord {
  if (cached !== undefined) return cached;
  const list = cpus();
  let isa: string[] | null = null;
  if (process.platform === "linux") {
    try {
      isa = kernelIsa(readFileSync("/proc/cpuinfo", "utf8"));
    } catch {
      isa = null;
    }
  }
  cached = { model: list[0]?.model.trim() || "unknown", cores: list.length, isa };
  return cached;
}
