/** The rater's left/right/tie and the stored a/b/tie, through the order the rater was shown. */
import type { z } from "zod";
import type { Choice, ShownOrder } from "../../core/types.js";
import type { Side } from "./wire.js";

type SideT = z.infer<typeof Side>;

export function toStored(side: SideT, order: ShownOrder): Choice {
  if (side === "tie") return "tie";
  return (side === "left") === (order === "ab") ? "a" : "b";
}

export function toSide(choice: Choice, order: ShownOrder): SideT {
  if (choice === "tie") return "tie";
  return (choice === "a") === (order === "ab") ? "left" : "right";
}
