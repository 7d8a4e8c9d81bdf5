/**
 * The onboarding quiz's grading (src/server/routes/quiz.ts): an attempt answers every item once
 * or is refused without being counted; passing is reaching `quiz_pass_rate` exactly or more; a
 * rater who passed, or is paused, has no attempt to make.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import {
  type Actor,
  call,
  type Fixture,
  json,
  makeFixture,
  onboard,
  sideShowing,
} from "./helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

interface QuizItem {
  quiz_id: string;
  prompt: string;
  left: string;
  right: string;
}

/** The right answer to a fixture's quiz item: quiz-i's gold is "tie" when i % 3 = 2, else "b". */
function right(x: QuizItem): "left" | "right" | "tie" {
  const i = Number(/(\d+)$/.exec(x.prompt)![1]);
  return i % 3 === 2 ? "tie" : sideShowing(x, "b");
}

async function quizOf(fx: Fixture, who: Actor) {
  const r = await call(fx, who, "GET", "/api/projects/p1/quiz");
  expect(r.statusCode, r.body).toBe(200);
  return json<{ attempts_left: number; items: QuizItem[] }>(r);
}

const answerQuiz = (fx: Fixture, who: Actor, answers: { quiz_id: string; choice: string }[]) =>
  call(fx, who, "POST", "/api/projects/p1/quiz", { body: { answers } });

describe("the onboarding quiz", () => {
  it("grades whole attempts only, passes at the pass rate exactly, and only once", async () => {
    const store = await openStore(join(tempDir(), "quiz.db"), { create: true });
    f = await makeFixture(store, { tasks: 2, gold: 0, quiz: 5, quiz_max_attempts: 2 });
    const fx = f;
    const { rater, rater2, reviewer } = fx.actors;
    await onboard(fx, rater);
    await onboard(fx, rater2);
    const quiz = await quizOf(fx, rater);
    expect(quiz.items).toHaveLength(5);
    const all = quiz.items.map((x) => ({ quiz_id: x.quiz_id, choice: right(x) }));

    // Refused, and not counted as attempts: an item left out, an item answered twice.
    const partial = await answerQuiz(fx, rater, all.slice(1));
    expect(partial.statusCode).toBe(400);
    expect(partial.body).toMatch(/answer all 5 quiz items/);
    const twice = await answerQuiz(fx, rater, [...all, { ...all[0]!, choice: "tie" }]);
    expect(twice.statusCode).toBe(400);
    expect(twice.body).toMatch(/answered once/);
    expect((await quizOf(fx, rater)).attempts_left).toBe(2);

    // 4 of 5 right is the default pass rate, 0.8, exactly: passed.
    const one = all[0]!.choice === "tie" ? "left" : "tie";
    const graded = await answerQuiz(fx, rater, [{ ...all[0]!, choice: one }, ...all.slice(1)]);
    expect(graded.statusCode, graded.body).toBe(200);
    expect(json(graded)).toMatchObject({ passed: true, correct: 4, total: 5, attempts_left: 1 });
    expect((await answerQuiz(fx, rater, all)).statusCode).toBe(409);

    // A paused rater makes no attempt, right or wrong.
    const paused = await call(
      fx,
      reviewer,
      "POST",
      `/api/projects/p1/members/${rater2.user_id}/review`,
      {
        body: { action: "pause", reason: "a look at their work" },
      },
    );
    expect(paused.statusCode, paused.body).toBe(200);
    const theirs = (await quizOf(fx, rater2)).items.map((x) => ({
      quiz_id: x.quiz_id,
      choice: right(x),
    }));
    expect((await answerQuiz(fx, rater2, theirs)).statusCode).toBe(403);
    expect((await quizOf(fx, rater2)).attempts_left).toBe(2);
  });
});
