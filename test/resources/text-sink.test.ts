/**
 * A text output whose last (or only) chunk the disk refuses: `/dev/full` answers every write
 * with ENOSPC. The write must fail with KEEL_E_FILE saying so, never report success; an output
 * smaller than TextSink's buffer is written in one chunk as the file is closed.
 */
import { describe, expect, it } from "vitest";
import { TextSink, writeFileAtomic } from "../../src/io/files.js";
import { writeJsonFile } from "../../src/io/json-file.js";
import { failure } from "../helpers/errors.js";

describe.skipIf(process.platform !== "linux")("writing to a full device (/dev/full)", () => {
  it("a small whole-file write fails with ENOSPC in words", async () => {
    const e = await failure(writeFileAtomic("/dev/full", '{"ok":true}\n'));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.message).toBe("/dev/full: cannot write: no space left on device");
  });

  it("a small JSON output fails too", async () => {
    const e = await failure(writeJsonFile("/dev/full", { method: "majority", labels: {} }));
    expect(e.code).toBe("KEEL_E_FILE");
  });

  it("a sink's commit fails when its only chunk is refused", async () => {
    const sink = new TextSink("/dev/full");
    await sink.write("line\n");
    const e = await failure(sink.commit());
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.message).toContain("no space left on device");
  });
});
