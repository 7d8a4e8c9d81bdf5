/**
 * Untrusted text (prompts and model outputs) as inert text: React escapes it, nothing is ever
 * parsed as HTML, and the server's CSP forbids inline script besides. Chat messages show their
 * role; whitespace is kept.
 *
 * Characters that reorder or hide text are shown as visible marks in their place (U+202E in a
 * dashed box) instead of acting: a bidi override would make a response read differently on
 * screen from the text the reward model learns from, and zero-width, tag and control
 * characters can carry a trigger the rater would never see. Ordinary right-to-left text needs
 * none of them (each paragraph takes its direction from its own letters, `unicode-bidi:
 * plaintext` in the stylesheet); the marks LRM and RLM, and the joiners ZWJ and ZWNJ that
 * emoji and several scripts use, are left as they are.
 */
import type { ReactNode } from "react";
import type { Content } from "./api";

/** C0/C1 controls but tab, LF, CR; zero-width space; bidi embeddings, overrides, isolates;
 * word joiner and invisible operators; BOM; tag characters. */
const HIDDEN =
  /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/gu;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

export function Visible({ text }: { text: string }): ReactNode {
  const parts: ReactNode[] = [];
  let at = 0;
  // matchAll works on a copy of the regex, so its lastIndex (never moved here) stays 0.
  for (const m of text.matchAll(HIDDEN)) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    const cp = codePoint(m[0]);
    parts.push(
      <span key={m.index} className="ctl" title={`invisible or reordering character ${cp}`}>
        {cp}
      </span>,
    );
    at = m.index + m[0].length;
  }
  if (at === 0) return text;
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

export function ContentView({ value }: { value: Content }) {
  if (typeof value === "string")
    return (
      <div className="text">
        <Visible text={value} />
      </div>
    );
  return (
    <ol className="chat">
      {value.map((m, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: messages have no id; order is fixed
        <li key={i} className={`msg msg-${m.role === "user" ? "user" : "other"}`}>
          <span className="role">
            <Visible text={m.role} />
          </span>
          <div className="text">
            <Visible text={m.content} />
          </div>
        </li>
      ))}
    </ol>
  );
}
