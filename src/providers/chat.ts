/**
 * How a conversation becomes one prompt for keel's own models, which are trained on single
 * (prompt, response) pairs: one user message is sent as it is (so a chat request and a
 * completion request with the same text get the same answer); a longer conversation is written
 * out turn by turn, "System: …", "User: …", "Assistant: …", blank lines between turns, and the
 * model answers the last turn.
 */
import type { ChatMessage } from "./types.js";

const ROLE: Record<ChatMessage["role"], string> = {
  system: "System",
  user: "User",
  assistant: "Assistant",
};

export function renderChat(messages: readonly ChatMessage[]): string {
  if (messages.length === 1 && messages[0]!.role === "user") return messages[0]!.content;
  return messages.map((m) => `${ROLE[m.role]}: ${m.content}`).join("\n\n");
}

/** The text up to the first stop string, and whether one was found. */
export function cutAtStop(text: string, stop: readonly string[] | undefined): [string, boolean] {
  let end = text.length;
  for (const s of stop ?? []) {
    if (s === "") continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return [text.slice(0, end), end < text.length];
}
