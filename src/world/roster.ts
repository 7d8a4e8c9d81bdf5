/**
 * The rater panel: expands the config's rater groups into individual raters with drawn
 * parameters, opaque ids, sybil teams, and each rater's latency model. Ids are assigned after a
 * seeded shuffle, so neither an id nor the order of raters reveals a rater's type.
 */
import { KeelError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import type { Dist, RaterGroupConfig, WorldConfig } from "./config.js";
import { apportion } from "./prompts.js";
import { hasCamouflage } from "./raters/camouflage.js";
import type { HonestParams, RaterModel, RaterProfile } from "./raters/model.js";
import { RATER_TYPES_REGISTRY, type RaterContext, type RaterTypeEntry } from "./raters/registry.js";
import { SybilTeam } from "./raters/sybil.js";

export interface LatencyModel {
  /** Median latency before reading (ms), after the rater's pace. */
  readonly base_ms: number;
  readonly per_word_ms: number;
  readonly sigma: number;
}

export interface Team {
  readonly id: string;
  /** Indices into `Roster.raters`. */
  readonly members: readonly number[];
  readonly co_assign: number;
}

export interface Claim {
  readonly claim: number;
  readonly members: readonly number[];
}

export interface RosterRater {
  readonly profile: RaterProfile;
  readonly model: RaterModel;
  readonly latency: LatencyModel;
}

export interface Roster {
  /** Sorted by rater id. */
  readonly raters: readonly RosterRater[];
  readonly teams: readonly Team[];
  /** Backdoor groups that claim triggered comparisons. */
  readonly claims: readonly Claim[];
  /** The sybil teams' operators, whose streams each simulation restarts. */
  readonly operators: readonly SybilTeam[];
}

/** Draws a value: a fixed number, or mean + sd·N(0, 1). */
export function draw(d: Dist, rng: Rng): number {
  return typeof d === "number" ? d : d.sd > 0 ? rng.normal(d.mean, d.sd) : d.mean;
}

function drawHonest(g: RaterGroupConfig, rng: Rng): HonestParams {
  return {
    skill: Math.max(0, draw(g.skill, rng)),
    position_bias: draw(g.position_bias, rng),
    length_bias: draw(g.length_bias, rng),
    tie_threshold: Math.max(0, draw(g.tie_threshold, rng)),
  };
}

/** The number of raters in each group (counts, or shares of panel.size by largest remainder). */
export function groupCounts(config: WorldConfig): number[] {
  const groups = config.panel.raters;
  if (groups.every((g) => g.count !== undefined)) return groups.map((g) => g.count!);
  return apportion(
    config.panel.size ?? 0,
    groups.map((g) => g.share ?? 0),
  );
}

/**
 * The groups given a positive share that the apportionment leaves without a rater (0.01 of a
 * 20-rater panel is a fifth of a rater): a world built from them would lack a group its config
 * names — an attack measured on it would be a clean panel under an attacker's name.
 */
export function emptyShareGroups(config: WorldConfig): { index: number; share: number }[] {
  const counts = groupCounts(config);
  return config.panel.raters.flatMap((g, index) =>
    (g.share ?? 0) > 0 && counts[index] === 0 ? [{ index, share: g.share! }] : [],
  );
}

/** KEEL_E_CONFIG naming the first group whose share comes to no rater (emptyShareGroups). */
function refuseEmptyShareGroups(config: WorldConfig): void {
  const empty = emptyShareGroups(config)[0];
  if (empty === undefined) return;
  const size = config.panel.size ?? 0;
  const type = config.panel.raters[empty.index]!.type;
  throw new KeelError(
    "KEEL_E_CONFIG",
    `share ${empty.share} of the ${size}-rater panel is ${+(empty.share * size).toPrecision(3)} of a rater, which rounds to none: this ${type} group would have no rater`,
    {
      where: { field: `panel.raters.${empty.index}.share` },
      hint: `one rater is ${+(1 / size).toPrecision(3)} of this panel: raise the share or panel.size, or remove the group`,
    },
  );
}

interface Draft {
  profile: Omit<RaterProfile, "rater_id">;
  make: (profile: RaterProfile) => RaterModel;
  latency: LatencyModel;
  team?: SybilTeam;
  claim?: number;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function draftGroup(
  config: WorldConfig,
  g: RaterGroupConfig,
  gi: number,
  n: number,
  rng: Rng,
): Draft[] {
  const entry = RATER_TYPES_REGISTRY[g.type] as RaterTypeEntry<typeof g.type>;
  const group = `${g.type}#${gi}`;
  const wantsEntity = g.type === "entity_promoter" || (g.type === "sybil" && g.goal === "entity");
  const entity = wantsEntity ? (g.entity ?? config.entities.names[0]) : undefined;
  if (wantsEntity && entity === undefined) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      "an entity attack needs a name: set entity or entities.names",
      {
        where: { field: `panel.raters.${gi}.entity` },
      },
    );
  }
  const teamSize = g.type === "sybil" ? (g.group_size ?? Math.max(1, n)) : n;
  const teams = new Map<number, SybilTeam>();
  const drafts: Draft[] = [];
  for (let i = 0; i < n; i++) {
    let team: SybilTeam | undefined;
    let honest: HonestParams;
    if (g.type === "sybil") {
      const t = Math.floor(i / teamSize);
      team = teams.get(t);
      if (team === undefined) {
        const id = `${group}/${t}`;
        const options = {
          id,
          params: drawHonest(g, rng),
          goal: g.goal,
          rate: g.rate,
          jitter: g.jitter,
          entity,
          ...(hasCamouflage(g) ? { camouflage: g } : {}),
        };
        team = new SybilTeam(options, () => rng.fork(`team/${id}`));
        teams.set(t, team);
      }
      honest = team.options.params;
    } else {
      honest = drawHonest(g, rng);
    }
    const ctx: RaterContext = {
      ...(team ? { team } : {}),
      ...(entity !== undefined ? { entity } : {}),
    };
    const pace = Math.exp(0.25 * rng.normal());
    const fast = g.type === "careless" && g.mode === "fast";
    const profile = {
      type: g.type,
      group: team ? team.options.id : group,
      params: {
        skill: round4(honest.skill),
        position_bias: round4(honest.position_bias),
        length_bias: round4(honest.length_bias),
        tie_threshold: round4(honest.tie_threshold),
        ...entry.params(g as never, ctx),
      },
      activity: g.activity,
      pace: round4(pace),
    };
    drafts.push({
      profile,
      make: (p) => entry.create(g as never, p, honest, ctx),
      latency: {
        base_ms: (fast ? 0.2 : 1) * g.latency.base_ms * pace,
        per_word_ms: (fast ? 0 : 1) * g.latency.per_word_ms * pace,
        sigma: g.latency.sigma,
      },
      ...(team ? { team } : {}),
      ...(g.type === "backdoor" && g.claim > 0 ? { claim: g.claim } : {}),
    });
  }
  return drafts;
}

/** Builds the panel from the config: drawn parameters, shuffled opaque ids, teams and claims. */
export function buildRoster(config: WorldConfig, rng: Rng): Roster {
  refuseEmptyShareGroups(config);
  const counts = groupCounts(config);
  const drafts = config.panel.raters.flatMap((g, gi) =>
    draftGroup(config, g, gi, counts[gi]!, rng.fork(`group/${gi}`)),
  );
  if (drafts.length < config.comparisons.overlap) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `the panel has ${drafts.length} raters but each comparison needs ${config.comparisons.overlap}`,
      { where: { field: "comparisons.overlap" } },
    );
  }
  const order = rng.fork("ids").shuffle(drafts.map((_, i) => i));
  const width = Math.max(3, String(drafts.length).length);
  const raters: RosterRater[] = order.map((di, k) => {
    const d = drafts[di]!;
    const profile: RaterProfile = {
      rater_id: `r${String(k + 1).padStart(width, "0")}`,
      ...d.profile,
    };
    return { profile, model: d.make(profile), latency: d.latency };
  });
  const teamMembers = new Map<string, number[]>();
  const claimMembers = new Map<string, { claim: number; members: number[] }>();
  order.forEach((di, k) => {
    const d = drafts[di]!;
    if (d.team !== undefined) {
      const id = d.team.options.id;
      teamMembers.set(id, [...(teamMembers.get(id) ?? []), k]);
    }
    if (d.claim !== undefined) {
      const c = claimMembers.get(d.profile.group) ?? { claim: d.claim, members: [] };
      c.members.push(k);
      claimMembers.set(d.profile.group, c);
    }
  });
  const coAssign = new Map<string, number>();
  config.panel.raters.forEach((g, gi) => {
    if (g.type === "sybil") coAssign.set(`sybil#${gi}`, g.co_assign);
  });
  const teams: Team[] = [...teamMembers.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([id, members]) => ({ id, members, co_assign: coAssign.get(id.split("/")[0]!) ?? 0 }));
  const claims = [...claimMembers.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([, c]) => c);
  const operators = [...new Set(drafts.flatMap((d) => (d.team ? [d.team] : [])))];
  return { raters, teams, claims, operators };
}
