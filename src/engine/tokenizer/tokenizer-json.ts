/**
 * A byte-level BPE tokenizer as a Hugging Face `tokenizer.json` object: written in the layout
 * keel uses (model type BPE, ByteLevel pre-tokenizer and decoder), and read from anyone's file
 * with the checks the `tokenizers` library makes, before anything is built from it.
 */
import { KeelError } from "../../core/errors.js";
import { quote } from "../../core/issue-messages.js";
import type { SpecialToken } from "./added.js";
import type { TokenizerData } from "./bpe.js";
import { BYTE_TO_CHAR } from "./bytelevel.js";

/** The Hugging Face tokenizer.json object of `data`. */
export function tokenizerJson(data: TokenizerData): Record<string, unknown> {
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: data.special.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: s.singleWord ?? false,
      lstrip: s.lstrip ?? false,
      rstrip: s.rstrip ?? false,
      normalized: s.normalized ?? false,
      special: s.special ?? true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(data.vocab),
      merges: data.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/**
 * Reads a tokenizer.json object of the byte-level BPE layout. The file may come from anyone,
 * so it is checked as the `tokenizers` library checks it, before anything is built: ids are
 * distinct integers 0…n−1 (an id of 1e9 would make a 1e9-row embedding), added tokens are
 * non-empty strings, and every merge is two tokens of the vocabulary whose join is one too.
 * Keel has no unknown token, so the vocabulary must also hold all 256 byte characters.
 */
export function readTokenizerJson(json: unknown, file?: string): TokenizerData {
  const j = json as {
    model?: Record<string, unknown>;
    pre_tokenizer?: Record<string, unknown>;
    normalizer?: unknown;
    added_tokens?: unknown;
  } | null;
  const where = file ? { file } : {};
  if (
    typeof j !== "object" ||
    j === null ||
    j.model?.type !== "BPE" ||
    !j.model.vocab ||
    !j.model.merges
  ) {
    throw new KeelError(
      "KEEL_E_UNKNOWN_FORMAT",
      "not a BPE tokenizer.json (model.type must be BPE)",
      { where },
    );
  }
  if (j.pre_tokenizer?.type !== "ByteLevel") {
    throw new KeelError("KEEL_E_UNSUPPORTED", "only byte-level BPE tokenizers are supported", {
      where: { ...where, field: "pre_tokenizer" },
    });
  }
  refuseOptions(j.model, j.pre_tokenizer, j.normalizer, where);
  const bad = (field: string, msg: string) =>
    new KeelError("KEEL_E_INVALID_RECORD", `invalid tokenizer.json: ${msg}`, {
      where: { ...where, field },
    });
  const vocab = readVocab(j.model.vocab, bad);
  // Every text is a string over the 256 byte characters, so a missing one loaded fine and
  // then failed each text holding that byte, as if the text were at fault.
  BYTE_TO_CHAR.forEach((c, b) => {
    if (!vocab.has(c))
      throw bad(
        "model.vocab",
        `byte 0x${b.toString(16).padStart(2, "0")} (${JSON.stringify(c)}) has no token; a byte-level vocabulary holds all 256 bytes`,
      );
  });
  const special = readAddedTokens(j.added_tokens, vocab, bad);
  return { vocab, merges: readMerges(j.model.merges, vocab, bad), special };
}

/**
 * Options that change how Hugging Face encodes, which this encoder does not implement: loaded
 * anyway, a file with a lowercasing normalizer or a word suffix gave other ids than the
 * `tokenizers` library, silently. Off or absent, each is the layout keel reads and writes.
 */
function refuseOptions(
  model: Record<string, unknown>,
  pre: Record<string, unknown>,
  normalizer: unknown,
  where: { file?: string },
): void {
  const off = (v: unknown) => v === undefined || v === null || v === false || v === "";
  const checks: [string, unknown, boolean][] = [
    ["normalizer", normalizer, off(normalizer)],
    ["pre_tokenizer.add_prefix_space", pre.add_prefix_space, off(pre.add_prefix_space)],
    ["pre_tokenizer.use_regex", pre.use_regex, pre.use_regex !== false],
    [
      "model.continuing_subword_prefix",
      model.continuing_subword_prefix,
      off(model.continuing_subword_prefix),
    ],
    ["model.end_of_word_suffix", model.end_of_word_suffix, off(model.end_of_word_suffix)],
    ["model.ignore_merges", model.ignore_merges, off(model.ignore_merges)],
  ];
  for (const [field, value, ok] of checks)
    if (!ok)
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        `tokenizer.json sets ${field} to ${quote(value)}, which keel's encoder does not implement`,
        {
          where: { ...where, field },
          hint: `only the plain byte-level BPE layout is read; ${field} must be off`,
        },
      );
}

type Bad = (field: string, msg: string) => KeelError;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** model.vocab: token → id, each id a distinct integer, the ids 0…n−1 with no holes. */
function readVocab(raw: unknown, bad: Bad): Map<string, number> {
  if (!isObject(raw)) throw bad("model.vocab", "not a map of token to id");
  const vocab = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const [token, id] of Object.entries(raw)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0)
      throw bad(
        "model.vocab",
        `token ${quote(token)}: id ${quote(id)} is not a non-negative integer`,
      );
    const other = byId.get(id as number);
    if (other !== undefined)
      throw bad(
        "model.vocab",
        `token ${quote(token)}: id ${id} is also the id of ${quote(other)}; ids must be distinct`,
      );
    byId.set(id as number, token);
    vocab.set(token, id as number);
  }
  return vocab;
}

/** The added-token flags of a tokenizer.json, and their names in `SpecialToken`. */
const FLAGS = [
  ["special", "special"],
  ["single_word", "singleWord"],
  ["lstrip", "lstrip"],
  ["rstrip", "rstrip"],
  ["normalized", "normalized"],
] as const;

// A lone surrogate cannot be in a file `tokenizers` reads, and as a token it would match half
// of a character of the text (an emoji cut in two).
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * One entry of added_tokens: {id, content} with non-empty content, and the flags as booleans.
 * A flag left out takes the value keel writes (special, nothing else), which is what keel did
 * before it read them; `normalized` then follows `special`, as in `tokenizers`.
 */
function readAddedToken(t: unknown, i: number, bad: Bad): SpecialToken {
  const { id, content } = isObject(t) ? t : {};
  if (!Number.isSafeInteger(id) || (id as number) < 0 || typeof content !== "string" || !content)
    throw bad(
      `added_tokens.${i}`,
      "expected {id: non-negative integer, content: non-empty string}",
    );
  if (LONE_SURROGATE.test(content))
    throw bad(`added_tokens.${i}.content`, "holds a lone UTF-16 surrogate, which is not text");
  const flags: Record<string, boolean> = {};
  for (const [name, key] of FLAGS) {
    const v = (t as Record<string, unknown>)[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean")
      throw bad(
        `added_tokens.${i}.${name}`,
        `${name} of ${quote(content)} is ${quote(v)}, not true or false`,
      );
    flags[key] = v;
  }
  const special = flags.special ?? true;
  return {
    id: id as number,
    content,
    special,
    singleWord: flags.singleWord ?? false,
    lstrip: flags.lstrip ?? false,
    rstrip: flags.rstrip ?? false,
    normalized: flags.normalized ?? !special,
  };
}

/** added_tokens: each token is one id's, no holes overall. */
function readAddedTokens(raw: unknown, vocab: Map<string, number>, bad: Bad): SpecialToken[] {
  if (raw !== undefined && raw !== null && !Array.isArray(raw))
    throw bad("added_tokens", "not a list");
  const byId = new Map<number, string>();
  for (const [t, id] of vocab) byId.set(id, t);
  const special: SpecialToken[] = [];
  for (const [i, t] of ((raw as unknown[] | null | undefined) ?? []).entries()) {
    const token = readAddedToken(t, i, bad);
    const other = byId.get(token.id);
    if (other !== undefined && other !== token.content)
      throw bad(
        `added_tokens.${i}`,
        `id ${token.id} is also the id of ${quote(other)}; ids must be distinct`,
      );
    byId.set(token.id, token.content);
    special.push(token);
  }
  let max = -1;
  for (const id of byId.keys()) max = Math.max(max, id);
  if (max + 1 !== byId.size)
    throw bad(
      "model.vocab",
      `ids run up to ${max} but there are ${byId.size} tokens; ids must be 0…${byId.size - 1} with no gaps`,
    );
  return special;
}

/** model.merges: "a b" strings or [a, b] pairs, each part and its join in the vocabulary. */
function readMerges(raw: unknown, vocab: Map<string, number>, bad: Bad): [string, string][] {
  if (!Array.isArray(raw)) throw bad("model.merges", "not a list");
  return raw.map((m: unknown, i): [string, string] => {
    const pair = typeof m === "string" ? m.split(" ") : m;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== "string" ||
      typeof pair[1] !== "string" ||
      !pair[0] ||
      !pair[1]
    )
      throw bad(`model.merges.${i}`, `${quote(m)} is not a pair of tokens ("a b")`);
    const [a, b] = pair as [string, string];
    for (const t of [a, b, a + b])
      if (!vocab.has(t))
        throw bad(
          `model.merges.${i}`,
          `merge ${quote(`${a} ${b}`)} uses ${quote(t)}, which is not in the vocabulary`,
        );
    return [a, b];
  });
}
