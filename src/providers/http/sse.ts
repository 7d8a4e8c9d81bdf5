/**
 * Server-sent events (WHATWG HTML §9.2, "Server-sent events"): a UTF-8 stream of events, each
 * a block of `field: value` lines ended by a blank line; `data` lines are joined with "\n";
 * lines starting with ":" are comments; CR, LF and CRLF all end lines. Only the data of each
 * event matters to the OpenAI streaming format, so that is what this yields.
 */
import { KeelError } from "../../core/errors.js";
import { readError } from "./request.js";

/** Longest event line, and longest event, accepted (characters). */
export const MAX_SSE_LINE = 4 << 20;

/** `name` (the upstream's) heads the error of a read that fails (a timeout, a dropped connection). */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  name = "upstream",
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((e: unknown) => {
        throw readError(name, e);
      });
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let m: RegExpExecArray | null;
      const eol = /\r\n|\r|\n/g;
      let start = 0;
      // A trailing lone CR may be the first half of CRLF: keep it until more arrives.
      const limit = done ? buf.length : buf.endsWith("\r") ? buf.length - 1 : buf.length;
      for (m = eol.exec(buf); m !== null && m.index < limit; m = eol.exec(buf)) {
        const line = buf.slice(start, m.index);
        start = m.index + m[0].length;
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "data") data.push(value);
        }
      }
      buf = buf.slice(start);
      // The upstream is not trusted: an endless line would grow the buffer, and rescanning it
      // on every read, without bound (OpenAI's events are a few hundred bytes).
      if (buf.length > MAX_SSE_LINE || data.reduce((n, d) => n + d.length, 0) > MAX_SSE_LINE)
        throw new KeelError(
          "KEEL_E_UPSTREAM",
          `the upstream's event stream sent an event longer than ${MAX_SSE_LINE >> 20} MiB characters`,
        );
      // An event not ended by a blank line before the stream closes is dropped (as the spec says).
      if (done) return;
    }
  } finally {
    // A consumer that stops early ([DONE], or gone) cancels the rest: the body holds the
    // connection, and the call's slot in its limiter, until it ends.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
