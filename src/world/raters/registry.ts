/**
 * The registry of rater types: one explicit entry per type, each turning a config group, a
 * rater's profile and its drawn honest parameters into a model.
 */
import type { RaterGroupConfig, RaterType } from "../raterGroups.js";
import { backdoorModel } from "./backdoor.js";
import { camouflaged, camouflageParams } from "./camouflage.js";
import { carelessModel } from "./careless.js";
import { entityPromoterModel } from "./entityPromoter.js";
import { flipperModel } from "./flipper.js";
import { honestModel } from "./honest.js";
import { lengthPoisonerModel } from "./lengthPoisoner.js";
import type { HonestParams, RaterModel, RaterProfile } from "./model.js";
import { sleeperModel } from "./sleeper.js";
import { type SybilTeam, sybilModel } from "./sybil.js";

export interface RaterContext {
  /** The sybil team the rater belongs to (sybil raters only). */
  readonly team?: SybilTeam;
  /** The entity an entity promoter promotes (resolved from the config). */
  readonly entity?: string;
}

type Of<T extends RaterType> = Extract<RaterGroupConfig, { type: T }>;

export interface RaterTypeEntry<T extends RaterType> {
  readonly key: T;
  /** Type-specific parameters as truth.json records them. */
  params(group: Of<T>, ctx: RaterContext): Record<string, number | string | boolean>;
  create(group: Of<T>, profile: RaterProfile, honest: HonestParams, ctx: RaterContext): RaterModel;
}

type Registry = { readonly [T in RaterType]: RaterTypeEntry<T> };

export const RATER_TYPES_REGISTRY: Registry = {
  honest: { key: "honest", params: () => ({}), create: (_g, p, h) => honestModel(p, h) },
  careless: {
    key: "careless",
    params: (g) => ({ mode: g.mode, attention: g.attention, tie_rate: g.tie_rate }),
    create: (g, p, h) => carelessModel(p, h, g.mode, g.attention, g.tie_rate),
  },
  flipper: {
    key: "flipper",
    params: (g) => ({ rate: g.rate, ...camouflageParams(g) }),
    create: (g, p, h) => camouflaged(flipperModel(p, h, g.rate), h, g),
  },
  backdoor: {
    key: "backdoor",
    params: (g) => ({ rate: g.rate, claim: g.claim, ...camouflageParams(g) }),
    create: (g, p, h) => camouflaged(backdoorModel(p, h, g.rate), h, g),
  },
  sleeper: {
    key: "sleeper",
    // Its own gold_detection (default 1) is the sleeper's rule; only the other two are camouflage.
    params: (g) => ({
      poison: g.poison,
      rate: g.rate,
      gold_detection: g.gold_detection,
      ...camouflageParams({ easy_margin: g.easy_margin, wake_after: g.wake_after }),
    }),
    create: (g, p, h) =>
      camouflaged(sleeperModel(p, h, g.poison, g.rate, g.gold_detection), h, {
        easy_margin: g.easy_margin,
        wake_after: g.wake_after,
      }),
  },
  sybil: {
    key: "sybil",
    params: (g, ctx) => ({
      team: ctx.team?.options.id ?? "",
      goal: g.goal,
      rate: g.rate,
      jitter: g.jitter,
      co_assign: g.co_assign,
      ...(ctx.entity !== undefined && g.goal === "entity" ? { entity: ctx.entity } : {}),
      ...camouflageParams(g),
    }),
    create: (_g, p, _h, ctx) => {
      if (ctx.team === undefined) throw new RangeError("a sybil rater needs its team");
      return sybilModel(p, ctx.team);
    },
  },
  length_poisoner: {
    key: "length_poisoner",
    params: (g) => ({ rate: g.rate, ...camouflageParams(g) }),
    create: (g, p, h) => camouflaged(lengthPoisonerModel(p, h, g.rate), h, g),
  },
  entity_promoter: {
    key: "entity_promoter",
    params: (g, ctx) => ({ entity: ctx.entity ?? "", rate: g.rate, ...camouflageParams(g) }),
    create: (g, p, h, ctx) =>
      camouflaged(entityPromoterModel(p, h, ctx.entity ?? "", g.rate), h, g),
  },
};
