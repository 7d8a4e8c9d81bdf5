import { vi } from "vitest";
import { main } from "../../src/cli/main.js";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the keel CLI in-process with `args`, capturing what it prints. */
export async function runCli(
  args: readonly string[],
  opts: { cwd?: string } = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const cwd = process.cwd();
  try {
    if (opts.cwd) process.chdir(opts.cwd);
    const code = await main(["node", "keel", ...args]);
    return { code, stdout, stderr };
  } finally {
    if (opts.cwd) process.chdir(cwd);
    out.mockRestore();
    err.mockRestore();
  }
}
