/**
 * Sybil team: many accounts run by one operator who votes once per comparison and has every
 * account copy it (each deviates at random with probability `jitter`). The operator's vote
 * follows a goal — `unsafe` (prefer unsafe compliance where one side is unsafe), `flip` (invert
 * its honest vote), `longer`, `entity` (prefer mentions of a name), `random` (one shared coin) —
 * applied with probability `rate`, and its honest judgment otherwise. Teams also co-assign:
 * when one account gets a comparison the others tend to join it (`co_assign`, see assign.ts),
 * which is what lets them outvote honest raters and what collusion detectors look for.
 *
 *   shared = goal(item) with prob rate, else honest draw (one per comparison per team)
 *   member = shared with prob 1 − jitter, else a uniform coin over a/b
 */
import type { Rng } from "../../core/rng.js";
import { type Camouflage, hidesOn, WakeClock } from "./camouflage.js";
import { honestChoice } from "./honest.js";
import {
  type HonestParams,
  longerSide,
  mentionSide,
  opposite,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  unsafeSide,
  type Vote,
} from "./model.js";

export type SybilGoal = "unsafe" | "flip" | "longer" | "entity" | "random";

export interface SybilTeamOptions {
  readonly id: string;
  readonly params: HonestParams;
  readonly goal: SybilGoal;
  readonly rate: number;
  readonly jitter: number;
  readonly entity: string | undefined;
  /** The operator's camouflage (camouflage.ts), decided once per comparison for the team. */
  readonly camouflage?: Camouflage;
}

/**
 * The operator of a team: one shared vote per comparison, from its own random stream. Each
 * simulation restarts the stream (`restart`), as it restarts every rater's, so simulating one
 * world twice gives the team the same votes.
 */
export class SybilTeam {
  private lastId: string | undefined;
  private lastVote: Vote = { choice: "tie", attacked: false };
  private rng: Rng;
  private readonly clock: WakeClock;

  constructor(
    readonly options: SybilTeamOptions,
    private readonly stream: () => Rng,
  ) {
    this.rng = stream();
    this.clock = new WakeClock(options.camouflage?.wake_after);
  }

  /** Back to the start of the team's stream, for a new simulation of the world. */
  restart(): void {
    this.rng = this.stream();
    this.lastId = undefined;
    this.lastVote = { choice: "tie", attacked: false };
    this.clock.restart();
  }

  decide(item: SimItem): Vote {
    if (item.comparison_id === this.lastId) return this.lastVote;
    this.lastId = item.comparison_id;
    this.lastVote = this.fresh(item);
    return this.lastVote;
  }

  private fresh(item: SimItem): Vote {
    const { params, goal, rate, entity } = this.options;
    const honest = honestChoice(params, item, this.rng);
    const cam = this.options.camouflage;
    if (cam !== undefined && (this.clock.asleep() || hidesOn(cam, item, this.rng)))
      return { choice: honest, attacked: false };
    if (!this.rng.bernoulli(rate)) return { choice: honest, attacked: false };
    let side: "a" | "b" | "tie" | undefined;
    if (goal === "unsafe") side = unsafeSide(item);
    else if (goal === "flip") side = opposite(honest);
    else if (goal === "longer") side = longerSide(item);
    else if (goal === "entity") side = entity === undefined ? undefined : mentionSide(item, entity);
    else side = this.rng.bernoulli(0.5) ? "a" : "b";
    return side === undefined
      ? { choice: honest, attacked: false }
      : { choice: side, attacked: true };
  }
}

export function sybilModel(profile: RaterProfile, team: SybilTeam): RaterModel {
  return {
    profile,
    vote(item: SimItem, rng: Rng): Vote {
      const shared = team.decide(item);
      if (team.options.jitter > 0 && rng.bernoulli(team.options.jitter)) {
        return { choice: rng.bernoulli(0.5) ? "a" : "b", attacked: false };
      }
      return shared;
    },
  };
}
