/**
 * Content digests: SHA-256 over a tagged canonical encoding, so plain text and a chat message
 * list never collide. Prompts and responses are stored under their digest, and the judgment
 * ledger hashes digests, which makes any later edit of a stored text detectable.
 */
import * as crypto from "node:crypto";
import { canonicalJson } from "./canonical.js";
import type { Content, StoredText } from "./types.js";

type OneShotHash = (algorithm: string, data: string, encoding: "hex") => string;
// crypto.hash (Node ≥ 20.12) is a one-shot digest about twice as fast as createHash for small inputs.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

export const sha256Hex: (data: string) => string = oneShot
  ? (data) => oneShot("sha256", data, "hex")
  : (data) => crypto.createHash("sha256").update(data, "utf8").digest("hex");

export function contentDigest(content: Content): string {
  return typeof content === "string"
    ? sha256Hex(`t:${content}`)
    : sha256Hex(`c:${canonicalJson(content)}`);
}

/** A short, stable item id for a response (used where tables need item names, e.g. crowd-kit). */
export function contentId(content: Content): string {
  return `r_${contentDigest(content).slice(0, 16)}`;
}

/** The stored form of a content: digest, body, and whether it is a chat message list. */
export function storedText(content: Content, digest: string = contentDigest(content)): StoredText {
  return typeof content === "string"
    ? { digest, body: content, is_chat: 0 }
    : { digest, body: JSON.stringify(content), is_chat: 1 };
}
