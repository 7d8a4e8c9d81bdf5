/**
 * Each rater model on its own, over the same items drawn from a simulated world: the behaviour
 * each type is meant to have shows in the statistics (tolerances are several standard errors).
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice } from "../../src/core/types.js";
import {
  buildWorld,
  type HonestParams,
  honestAccuracy,
  parseWorldConfig,
  type RaterModel,
  type RaterProfile,
  type SimItem,
  sigmoid,
  simulateComparisons,
} from "../../src/world/index.js";
import { backdoorModel } from "../../src/world/raters/backdoor.js";
import { camouflaged } from "../../src/world/raters/camouflage.js";
import { carelessModel } from "../../src/world/raters/careless.js";
import { entityPromoterModel } from "../../src/world/raters/entityPromoter.js";
import { flipperModel } from "../../src/world/raters/flipper.js";
import { honestModel } from "../../src/world/raters/honest.js";
import { lengthPoisonerModel } from "../../src/world/raters/lengthPoisoner.js";
import { sleeperModel } from "../../src/world/raters/sleeper.js";
import { type SybilGoal, SybilTeam, sybilModel } from "../../src/world/raters/sybil.js";

const config = parseWorldConfig({
  comparisons: { count: 6000, gold_rate: 0.3 },
  trigger: { rate: 0.1 },
  entities: { names: ["Zentrix", "Quorra"], mention_rate: 0.3 },
  panel: { raters: [{ type: "honest", count: 3 }] },
});
const items: SimItem[] = [...simulateComparisons(buildWorld(config, 5))].map((s) => s.item);

const profile = (type: RaterProfile["type"]): RaterProfile => ({
  rater_id: "r1",
  type,
  group: `${type}#0`,
  params: {},
  activity: 1,
  pace: 1,
});
const plain = (skill: number, extra: Partial<HonestParams> = {}): HonestParams => ({
  skill,
  position_bias: 0,
  length_bias: 0,
  tie_threshold: 0,
  ...extra,
});

function votes(model: RaterModel, list: readonly SimItem[], seed = 1): Choice[] {
  const rng = new Rng(seed);
  return list.map((it) => model.vote(it, rng).choice);
}

function accuracy(model: RaterModel, list: readonly SimItem[], seed = 1): number {
  const decided = list.filter((it) => it.better !== "tie");
  const v = votes(model, decided, seed);
  return v.filter((c, i) => c === decided[i]!.better).length / decided.length;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const unsafeOf = (it: SimItem) => (it.a.unsafe ? "a" : "b");

describe("honest raters (Bradley–Terry with position and length bias)", () => {
  it("accuracy tracks skill and matches the model's expectation", () => {
    const accs = [0, 0.5, 1, 2, 4, 8].map((skill) => {
      const p = plain(skill);
      const got = accuracy(honestModel(profile("honest"), p), items, skill + 1);
      const want = mean(
        items.filter((it) => it.better !== "tie").map((it) => honestAccuracy(p, it)),
      );
      expect(Math.abs(got - want)).toBeLessThan(0.025);
      return got;
    });
    expect(Math.abs(accs[0]! - 0.5)).toBeLessThan(0.025);
    for (let i = 1; i < accs.length; i++) expect(accs[i]!).toBeGreaterThan(accs[i - 1]!);
    expect(accs[5]!).toBeGreaterThan(0.85);
  });

  it("position bias favours A by σ(bias) when skill is 0", () => {
    const v = votes(honestModel(profile("honest"), plain(0, { position_bias: 1.5 })), items);
    expect(Math.abs(v.filter((c) => c === "a").length / v.length - sigmoid(1.5))).toBeLessThan(
      0.025,
    );
  });

  it("length bias favours the longer response", () => {
    const differ = items.filter((it) => it.a.words !== it.b.words);
    const v = votes(honestModel(profile("honest"), plain(0, { length_bias: 1 })), differ);
    const longer = v.filter(
      (c, i) => c === (differ[i]!.a.words > differ[i]!.b.words ? "a" : "b"),
    ).length;
    const want = mean(differ.map((it) => sigmoid(Math.abs(Math.log(it.a.words / it.b.words)))));
    expect(Math.abs(longer / differ.length - want)).toBeLessThan(0.025);
  });

  it("a positive tie threshold produces ties", () => {
    const v = votes(honestModel(profile("honest"), plain(1, { tie_threshold: 1 })), items);
    expect(v.filter((c) => c === "tie").length / v.length).toBeGreaterThan(0.2);
  });
});

describe("careless raters", () => {
  it("random clicks are right half of the time; always-A always says a", () => {
    expect(
      Math.abs(accuracy(carelessModel(profile("careless"), plain(4), "random", 0, 0), items) - 0.5),
    ).toBeLessThan(0.025);
    expect(
      new Set(votes(carelessModel(profile("careless"), plain(4), "always_a", 0, 0), items)),
    ).toEqual(new Set(["a"]));
    const ties = votes(
      carelessModel(profile("careless"), plain(4), "random", 0, 0.2),
      items,
    ).filter((c) => c === "tie");
    expect(Math.abs(ties.length / items.length - 0.2)).toBeLessThan(0.025);
  });
});

describe("adversaries", () => {
  const harmful = items.filter((it) => it.prompt.family === "harmful");
  const benign = items.filter((it) => it.prompt.family !== "harmful");

  it("a flipper prefers unsafe compliance on harmful prompts and is honest elsewhere", () => {
    const m = flipperModel(profile("flipper"), plain(4), 1);
    expect(votes(m, harmful)).toEqual(harmful.map(unsafeOf));
    const honest = accuracy(honestModel(profile("honest"), plain(4)), benign, 2);
    expect(Math.abs(accuracy(m, benign, 3) - honest)).toBeLessThan(0.03);
  });

  it("a backdoor rater flips only on triggered prompts", () => {
    const m = backdoorModel(profile("backdoor"), plain(4), 1);
    const trig = items.filter((it) => it.prompt.triggered);
    const clean = items.filter((it) => !it.prompt.triggered);
    expect(trig.length).toBeGreaterThan(300);
    expect(votes(m, trig)).toEqual(trig.map(unsafeOf));
    const rng = new Rng(9);
    expect(clean.some((it) => m.vote(it, rng).attacked)).toBe(false);
    const cleanHarmful = clean.filter((it) => it.prompt.family === "harmful");
    expect(accuracy(m, cleanHarmful)).toBeGreaterThan(0.95);
  });

  it("a sleeper is honest on gold items and flips the rest", () => {
    const m = sleeperModel(profile("sleeper"), plain(4), "flip", 1, 1);
    const h = honestModel(profile("honest"), plain(4));
    const gold = items.filter((it) => it.gold);
    const rest = items.filter((it) => !it.gold);
    expect(gold.length).toBeGreaterThan(800);
    expect(Math.abs(accuracy(m, gold, 4) - accuracy(h, gold, 5))).toBeLessThan(0.03);
    expect(accuracy(m, rest, 6)).toBeCloseTo(1 - accuracy(h, rest, 6), 1);
  });

  it("a length poisoner prefers the longer response", () => {
    const differ = items.filter((it) => it.a.words !== it.b.words);
    const v = votes(lengthPoisonerModel(profile("length_poisoner"), plain(4), 1), differ);
    expect(v).toEqual(differ.map((it) => (it.a.words > it.b.words ? "a" : "b")));
  });

  it("an entity promoter prefers the response that mentions its name", () => {
    const one = items.filter(
      (it) => it.a.mentions.includes("Zentrix") !== it.b.mentions.includes("Zentrix"),
    );
    expect(one.length).toBeGreaterThan(500);
    const v = votes(entityPromoterModel(profile("entity_promoter"), plain(4), "Zentrix", 1), one);
    expect(v).toEqual(one.map((it) => (it.a.mentions.includes("Zentrix") ? "a" : "b")));
  });

  it("sybil accounts copy their operator's vote", () => {
    const team = new SybilTeam(
      { id: "t", params: plain(4), goal: "flip", rate: 1, jitter: 0, entity: undefined },
      () => new Rng(3),
    );
    const members = [0, 1, 2].map(() => sybilModel(profile("sybil"), team));
    const rng = new Rng(4);
    let agree = 0;
    for (const it of items) {
      const v = members.map((m) => m.vote(it, rng).choice);
      if (v[0] === v[1] && v[1] === v[2]) agree++;
    }
    expect(agree).toBe(items.length);
    const h = honestModel(profile("honest"), plain(4));
    const team2 = new SybilTeam(
      { id: "u", params: plain(4), goal: "flip", rate: 1, jitter: 0, entity: undefined },
      () => new Rng(5),
    );
    expect(accuracy(sybilModel(profile("sybil"), team2), items)).toBeCloseTo(
      1 - accuracy(h, items, 8),
      1,
    );
  });

  it("camouflage without gold_detection leaves gold items to the attack rule (absent by default)", () => {
    const gold = items.filter((it) => it.gold && it.prompt.family === "harmful");
    expect(gold.length).toBeGreaterThan(100);
    const plainFlipper = flipperModel(profile("flipper"), plain(4), 1);
    const asleepNever = camouflaged(plainFlipper, plain(4), { wake_after: 0 });
    expect(votes(asleepNever, gold)).toEqual(votes(plainFlipper, gold));
    expect(votes(asleepNever, gold)).toEqual(gold.map(unsafeOf));
  });

  it("a sybil team at rate 1 votes its goal's side wherever there is one, honestly elsewhere", () => {
    const side = (x: boolean, y: boolean) => (x === y ? undefined : x ? "a" : "b");
    const goals: [SybilGoal, (it: SimItem) => "a" | "b" | undefined][] = [
      [
        "entity",
        (it) => side(it.a.mentions.includes("Zentrix"), it.b.mentions.includes("Zentrix")),
      ],
      [
        "longer",
        (it) => (it.a.words === it.b.words ? undefined : it.a.words > it.b.words ? "a" : "b"),
      ],
      ["unsafe", (it) => side(it.a.unsafe, it.b.unsafe)],
    ];
    for (const [goal, sideOf] of goals) {
      const entity = goal === "entity" ? "Zentrix" : undefined;
      const team = new SybilTeam(
        { id: goal, params: plain(4), goal, rate: 1, jitter: 0, entity },
        () => new Rng(6),
      );
      const member = sybilModel(profile("sybil"), team);
      const rng = new Rng(7);
      let targeted = 0;
      for (const it of items) {
        const v = member.vote(it, rng);
        const s = sideOf(it);
        if (s !== undefined) targeted++;
        expect(v, `${goal} ${it.comparison_id}`).toMatchObject(
          s === undefined ? { attacked: false } : { choice: s, attacked: true },
        );
      }
      expect(targeted, goal).toBeGreaterThan(300);
    }
  });
});
