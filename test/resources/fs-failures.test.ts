/**
 * Writes that the machine refuses halfway — a full disk during a metrics append or a checkpoint,
 * a directory fsync the file system does not allow — injected at the `node:fs` calls the code
 * makes. What must hold: a clear KEEL_E_FILE naming the file, nothing torn or half-written left
 * under a final name, no file descriptor leaked, and the next write working once there is room.
 */
import * as realFs from "node:fs";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { writeFileAtomic } from "../../src/engine/checkpoint/atomic.js";
import { CheckpointStore, MetricsLog, readMetrics } from "../../src/train/common/run.js";

/** Failures to inject, each taken once by the next matching call. */
const inject: {
  append?: { keepBytes: number; code: string };
  dirFsync?: string;
} = {};

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const fail = (code: string, syscall: string) =>
    Object.assign(new Error(`${code}: ${syscall}`), { code, syscall });
  const mocked = {
    ...fs,
    // A full disk in the middle of a line: the first bytes land, then ENOSPC.
    appendFileSync: (path: realFs.PathOrFileDescriptor, data: string, ...rest: unknown[]) => {
      const f = inject.append;
      if (f === undefined)
        return (fs.appendFileSync as (...a: unknown[]) => void)(path, data, ...rest);
      inject.append = undefined;
      fs.appendFileSync(path, data.slice(0, f.keepBytes));
      throw fail(f.code, "write");
    },
    fsyncSync: (fd: number) => {
      if (inject.dirFsync !== undefined && fs.fstatSync(fd).isDirectory()) {
        const code = inject.dirFsync;
        inject.dirFsync = undefined;
        throw fail(code, "fsync");
      }
      return fs.fsyncSync(fd);
    },
  };
  return { ...mocked, default: mocked };
});

const root = mkdtempSync(join(tmpdir(), "keel-fs-failures-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  inject.append = undefined;
  inject.dirFsync = undefined;
});
let n = 0;
const fresh = () => join(root, `run${n++}`);

function thrown(f: () => unknown): KeelError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeelError);
    return e as KeelError;
  }
  throw new Error("expected a failure");
}

describe("metrics.jsonl on a full disk", () => {
  it("fails with KEEL_E_FILE naming the log, leaves no torn line, and goes on once there is room", () => {
    const out = fresh();
    const log = new MetricsLog(out);
    log.write({ type: "train", step: 1, loss: 1.5 });
    log.write({ type: "train", step: 2, loss: 1.25 });
    const before = readFileSync(join(out, "metrics.jsonl"), "utf8");

    inject.append = { keepBytes: 17, code: "ENOSPC" };
    const e = thrown(() => log.write({ type: "train", step: 3, loss: 1.125 }));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.exitCode).toBe(66);
    expect(e.message).toContain(join(out, "metrics.jsonl"));
    expect(e.message).toContain("no space left on device");
    expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(before);

    log.write({ type: "train", step: 3, loss: 1.125 });
    expect(readMetrics(out).map((r) => r.step)).toEqual([1, 2, 3]);
  });

  it("is read back without a record a crash tore at its end, and names a damaged line", () => {
    const out = fresh();
    realFs.mkdirSync(out);
    const path = join(out, "metrics.jsonl");
    writeFileSync(path, '{"type":"train","step":1}\n{"type":"train","st');
    expect(readMetrics(out)).toEqual([{ type: "train", step: 1 }]);
    writeFileSync(path, '{"type":"train","step":1}\n{"type":\n{"type":"train","step":2}\n');
    const e = thrown(() => readMetrics(out));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.message).toContain(`${path}:2`);
  });
});

describe("a checkpoint on a full disk", () => {
  it("is not left half-written under its name; latest.json keeps the previous one", () => {
    const out = fresh();
    const store = new CheckpointStore(out, 3);
    store.save(10, (dir) => writeFileAtomic(join(dir, "model.safetensors"), "ten"));
    const e = thrown(() =>
      store.save(20, (dir) => {
        writeFileAtomic(join(dir, "model.safetensors"), "twenty");
        throw new KeelError("KEEL_E_FILE", "cannot write: no space left on device", {
          where: { file: join(dir, "optimizer.safetensors") },
        });
      }),
    );
    expect(e.message).toContain("optimizer.safetensors");
    expect(readdirSync(store.dir).sort()).toEqual(["latest.json", "step-0000010"]);
    expect(store.latest()?.step).toBe(10);

    store.save(20, (dir) => writeFileAtomic(join(dir, "model.safetensors"), "twenty"));
    expect(store.latest()?.step).toBe(20);
  });
});

describe("an atomic write where directories cannot be fsynced", () => {
  it("closes the directory's descriptor", () => {
    const dir = fresh();
    writeFileAtomic(join(dir, "warm.json"), "{}\n");
    const open = () => readdirSync("/proc/self/fd").length;
    const before = open();
    for (let i = 0; i < 20; i++) {
      inject.dirFsync = "EINVAL";
      writeFileAtomic(join(dir, `f${i}.json`), "{}\n");
    }
    expect(open()).toBe(before);
    expect(readFileSync(join(dir, "f19.json"), "utf8")).toBe("{}\n");
  });
});
