/**
 * The onboarding quiz: every quiz item (gold comparisons kept apart from the ones mixed into
 * the task stream, so that learning their answers here reveals nothing later), in a per-rater
 * order, each with its own opaque id and left/right order. Passing needs `quiz_pass_rate`
 * correct; after `quiz_max_attempts` failed attempts the rater is paused for a reviewer.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { ContentSchema } from "../../core/schemas.js";
import { recordQuizAttempt, setMemberStatus } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { js, LIMIT, ProjectParams, responses } from "../http/schema.js";
import type { ProjectQueue } from "../tasks/queue.js";
import { memberState } from "./access.js";
import { toSide, toStored } from "./sides.js";
import { Side } from "./wire.js";

const QuizOut = z.object({
  pass_rate: z.number(),
  attempts_left: z.number(),
  passed: z.boolean(),
  items: z.array(
    z.object({
      quiz_id: z.string(),
      prompt: ContentSchema,
      left: ContentSchema,
      right: ContentSchema,
    }),
  ),
});

const QuizIn = z.strictObject({
  answers: z
    .array(z.strictObject({ quiz_id: z.string().regex(/^[A-Za-z0-9_-]{22}$/), choice: Side }))
    .min(1)
    .max(1000),
});

const ResultOut = z.object({
  passed: z.boolean(),
  correct: z.number(),
  total: z.number(),
  attempts_left: z.number(),
  results: z.array(z.object({ quiz_id: z.string(), correct: z.boolean(), expected: Side })),
});

function quizIds(ctx: ServerContext, q: ProjectQueue, userId: string) {
  const pid = q.project.project_id;
  const items = q.quiz.map((it) => {
    const d = ctx.ids.derive(pid, userId, it.comparison_id);
    return { it, quiz_id: d.taskId, order: d.shownOrder };
  });
  return new Rng(`${q.project.seed}/quiz-order/${userId}`).shuffle(items);
}

export function quizRoutes(ctx: ServerContext) {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/quiz",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "the onboarding quiz",
          params: js(ProjectParams),
          response: responses(QuizOut),
        },
      },
      async (req) => {
        const { q, s } = await memberState(ctx, req, req.params.projectId);
        if (s.member.guidelines_ack_at === null)
          throw new KeelError("KEEL_E_FORBIDDEN", "read and acknowledge the guidelines first");
        const items = [];
        for (const x of quizIds(ctx, q, req.user!.user_id)) {
          const t = await q.textsOf(x.it.comparison_id);
          const [left, right] =
            x.order === "ab" ? [t.response_a, t.response_b] : [t.response_b, t.response_a];
          items.push({ quiz_id: x.quiz_id, prompt: t.prompt, left, right });
        }
        return {
          pass_rate: q.project.quiz_pass_rate,
          attempts_left: Math.max(0, q.project.quiz_max_attempts - s.member.quiz_attempts),
          passed: s.member.quiz_passed_at !== null,
          items,
        };
      },
    );

    app.post<{ Params: { projectId: string }; Body: z.infer<typeof QuizIn> }>(
      "/projects/:projectId/quiz",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.small,
        schema: {
          summary: "answer the onboarding quiz",
          params: js(ProjectParams),
          body: js(QuizIn),
          response: responses(ResultOut),
        },
      },
      (req) => answerQuiz(ctx, req),
    );
  };
}

type QuizBody = z.infer<typeof QuizIn>;

/** Each quiz item's stored answer and whether it is right; every item answered, once. */
function grade(items: ReturnType<typeof quizIds>, given: QuizBody["answers"]) {
  const answers = new Map(given.map((a) => [a.quiz_id, a.choice]));
  if (answers.size !== given.length)
    throw new KeelError("KEEL_E_INVALID_RECORD", "each quiz item may be answered once");
  const known = new Set(items.map((x) => x.quiz_id));
  for (const id of answers.keys()) {
    if (!known.has(id))
      throw new KeelError("KEEL_E_INVALID_RECORD", `no quiz item ${id}`, {
        where: { field: "answers" },
      });
  }
  if (answers.size !== items.length) {
    throw new KeelError("KEEL_E_INVALID_RECORD", `answer all ${items.length} quiz items`, {
      where: { field: "answers" },
    });
  }
  return items.map((x) => {
    const choice = toStored(answers.get(x.quiz_id)!, x.order);
    return { x, choice, correct: choice === x.it.gold };
  });
}

/** Grades an attempt at the quiz, records it, and pauses a rater out of attempts. */
async function answerQuiz(
  ctx: ServerContext,
  req: FastifyRequest<{ Params: { projectId: string }; Body: QuizBody }>,
) {
  const uid = req.user!.user_id;
  const { q, s } = await memberState(ctx, req, req.params.projectId);
  const p = q.project;
  if (s.member.status !== "active")
    throw new KeelError("KEEL_E_FORBIDDEN", "your work on this project is paused pending review");
  if (s.member.guidelines_ack_at === null)
    throw new KeelError("KEEL_E_FORBIDDEN", "read and acknowledge the guidelines first");
  if (s.member.quiz_passed_at !== null)
    throw new KeelError("KEEL_E_CONFLICT", "you have already passed the quiz");
  if (q.quiz.length === 0) throw new KeelError("KEEL_E_NOT_FOUND", "this project has no quiz");
  const items = quizIds(ctx, q, uid);
  const graded = grade(items, req.body.answers);
  const correct = graded.filter((g) => g.correct).length;
  const passed = correct / items.length >= p.quiz_pass_rate;
  const attempt = await recordQuizAttempt(
    ctx.db,
    {
      project_id: p.project_id,
      user_id: uid,
      answers: graded.map((g) => ({
        comparison_id: g.x.it.comparison_id,
        choice: g.choice,
        correct: g.correct,
      })),
      passed,
      maxAttempts: p.quiz_max_attempts,
    },
    ctx.now(),
  );
  if (attempt === undefined)
    throw new KeelError(
      "KEEL_E_FORBIDDEN",
      "no quiz attempts left; a reviewer will look at your account",
    );
  const now = ctx.now().toISOString();
  s.member = {
    ...s.member,
    quiz_attempts: attempt,
    ...(passed ? { quiz_passed_at: now } : {}),
  };
  if (!passed && attempt >= p.quiz_max_attempts) {
    const m = await setMemberStatus(
      ctx.db,
      {
        project_id: p.project_id,
        user_id: uid,
        status: "paused",
        action: "auto_pause",
        actor_id: null,
        reason: `failed the onboarding quiz ${attempt} times (last: ${correct}/${items.length})`,
        from: ["active"],
      },
      ctx.now(),
    );
    if (m) s.member = m;
  }
  return {
    passed,
    correct,
    total: items.length,
    attempts_left: Math.max(0, p.quiz_max_attempts - attempt),
    results: graded.map((g) => ({
      quiz_id: g.x.quiz_id,
      correct: g.correct,
      expected: toSide(g.x.it.gold!, g.x.order),
    })),
  };
}
