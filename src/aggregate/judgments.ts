/**
 * keel judgments → the two data shapes.
 *
 * Categorical view: task = comparison_id, worker = rater_id, label = choice ∈ {a, b, tie}. This
 * is the primary view: every categorical method then yields, per comparison, a posterior over
 * a / b / tie, from which `p_a` and a weight follow (posteriors.ts). Ties are a class of their
 * own, so a confident tie is told apart from an uncertain preference.
 *
 * Pairwise view: items are responses, identified by the text of (prompt, response), so that one
 * response that appears in several comparisons is one item and the pairwise models can link
 * them; left/right is the order the rater *saw* (shown_order "ba" swaps them), which is what
 * position bias is about. When every response appears in only one comparison (the common case)
 * the item graph falls apart into one component per comparison and Bradley–Terry needs
 * `prior` > 0; the rater parameters of Noisy BT / Crowd-BT are still shared across comparisons.
 * Texts are keyed by 128 bits of SHA-256, not stored; every judgment of a comparison must show
 * the same texts (KEEL_E_CONFLICT otherwise).
 */
import { sha256Hex } from "../core/digest.js";
import { KeelError, type Where } from "../core/errors.js";
import { type Choice, contentToText, type GoldAnswer, type Judgment } from "../core/types.js";
import { CategoricalEncoder, Interner, PairwiseEncoder } from "./encode.js";
import type { CategoricalData, PairwiseData } from "./types.js";
import { LEFT_WINS, RIGHT_WINS, TIE } from "./types.js";

/** Item indices of each comparison's response a and b (index as in categorical.tasks). */
export interface ComparisonItems {
  readonly a: Int32Array;
  readonly b: Int32Array;
}

export interface JudgmentData {
  readonly categorical: CategoricalData;
  readonly pairwise: PairwiseData;
  readonly items: ComparisonItems;
}

/**
 * The identity of a response to a prompt, as a pairwise item: 128 bits of SHA-256 over both
 * texts. Response texts come from models and imported files, so a non-cryptographic hash (the
 * 64-bit FNV/multiply pair used before) would let whoever writes them craft two texts that
 * merge into one item.
 */
function textKey(prompt: string, response: string): string {
  return sha256Hex(`${prompt}\u0000${response}`).slice(0, 32);
}

/**
 * A later judgment of a comparison, without the texts its first judgment carried (a store's
 * `judgmentsTextsOnce`: the store fixes a comparison's texts, so there is nothing to check).
 */
export type JudgmentWithoutTexts = Omit<Judgment, "prompt" | "response_a" | "response_b">;

export class JudgmentEncoder {
  private readonly cat = new CategoricalEncoder();
  private readonly pw = new PairwiseEncoder();
  private readonly itemKeys = new Interner();
  private readonly itemNames: string[] = [];
  private readonly comparisons = new Interner();
  private readonly compA: number[] = [];
  private readonly compB: number[] = [];

  /**
   * `where`: the judgment's file and line, named if its gold conflicts with another's. A judgment
   * without texts must be of a comparison added before.
   */
  add(j: Judgment | JudgmentWithoutTexts, where?: Where): void {
    const c = "prompt" in j ? this.comparisonOf(j) : this.knownComparison(j.comparison_id, where);
    this.cat.add(j.comparison_id, j.rater_id, j.choice);
    if (j.gold !== undefined) this.cat.addGold(j.comparison_id, j.gold, where);
    const a = this.itemNames[this.compA[c]!]!;
    const b = this.itemNames[this.compB[c]!]!;
    const swapped = j.shown_order === "ba";
    const outcome =
      j.choice === "tie" ? TIE : (j.choice === "a") !== swapped ? LEFT_WINS : RIGHT_WINS;
    if (a !== b) this.pw.add(j.rater_id, swapped ? b : a, swapped ? a : b, outcome);
  }

  /** The judgment's comparison, added on its first judgment, checked on the later ones. */
  private comparisonOf(j: Judgment): number {
    const prompt = contentToText(j.prompt);
    let c = this.comparisons.get(j.comparison_id);
    if (c === undefined) {
      c = this.comparisons.id(j.comparison_id);
      this.compA.push(this.item(prompt, contentToText(j.response_a), `${j.comparison_id}:a`));
      this.compB.push(this.item(prompt, contentToText(j.response_b), `${j.comparison_id}:b`));
    } else {
      this.checkSameTexts(j, prompt, c);
    }
    return c;
  }

  private knownComparison(id: string, where?: Where): number {
    const c = this.comparisons.get(id);
    if (c !== undefined) return c;
    throw new KeelError(
      "KEEL_E_INTERNAL",
      "a judgment without texts came before its comparison's first judgment",
      { where: { ...where, id } },
    );
  }

  /**
   * A later judgment of a comparison must show the same prompt and responses as its first: its
   * choice would otherwise be credited to texts it was not about (swapped responses turn "a"
   * into a vote for the other one). `keel import` refuses such a file the same way.
   */
  private checkSameTexts(j: Judgment, prompt: string, c: number): void {
    const field =
      this.itemKeys.get(textKey(prompt, contentToText(j.response_a))) !== this.compA[c]
        ? "response_a"
        : this.itemKeys.get(textKey(prompt, contentToText(j.response_b))) !== this.compB[c]
          ? "response_b"
          : undefined;
    if (field === undefined) return;
    throw new KeelError(
      "KEEL_E_CONFLICT",
      "the prompt or this response differs from the comparison's first judgment: one comparison id must always name the same prompt and responses",
      {
        where: { id: j.comparison_id, field },
        hint: "give each distinct pair of responses its own comparison_id",
      },
    );
  }

  addGold(g: GoldAnswer, where?: Where): void {
    this.cat.addGold(g.comparison_id, g.gold, where);
  }

  private item(prompt: string, response: string, name: string): number {
    const before = this.itemKeys.size;
    const i = this.itemKeys.id(textKey(prompt, response));
    if (i === before) this.itemNames.push(name);
    return i;
  }

  finish(): JudgmentData {
    const categorical = this.cat.finish();
    const pairwise = this.pw.finish();
    // Map comparison order (first appearance) to item indices as the pairwise encoder numbered them.
    const a = new Int32Array(categorical.nTasks);
    const b = new Int32Array(categorical.nTasks);
    const pwIndex = new Map(pairwise.items.map((name, i) => [name, i]));
    categorical.tasks.forEach((id, t) => {
      const c = this.comparisons.get(id)!;
      a[t] = pwIndex.get(this.itemNames[this.compA[c]!]!) ?? -1;
      b[t] = pwIndex.get(this.itemNames[this.compB[c]!]!) ?? -1;
    });
    return { categorical, pairwise, items: { a, b } };
  }
}

export function encodeJudgments(
  judgments: Iterable<Judgment>,
  gold?: Iterable<GoldAnswer>,
): JudgmentData {
  const enc = new JudgmentEncoder();
  for (const j of judgments) enc.add(j);
  if (gold) for (const g of gold) enc.addGold(g);
  return enc.finish();
}

export const CHOICE_CLASSES: readonly Choice[] = ["a", "b", "tie"];
