/**
 * Untrusted text (prompts and model outputs) as inert text: React escapes it, nothing is ever
 * parsed as HTML, and the server's CSP forbids inline script besides. Chat messages show their
 * role; whitespace is kept.
 */
import type { Content } from "./api";

export function ContentView({ value }: { value: Content }) {
  if (typeof value === "string") return <div className="text">{value}</div>;
  return (
    <ol className="chat">
      {value.map((m, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: messages have no id; order is fixed
        <li key={i} className={`msg msg-${m.role === "user" ? "user" : "other"}`}>
          <span className="role">{m.role}</span>
          <div className="text">{m.content}</div>
        </li>
      ))}
    </ol>
  );
}
