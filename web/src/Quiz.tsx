/**
 * The onboarding quiz: every item at once, then the result with the expected answers. Each
 * submission is an attempt the server counts, so the form sends one at a time, and a new try
 * reloads the quiz for the attempts left.
 */
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type Content } from "./api";
import { ContentView } from "./Content";

interface QuizData {
  pass_rate: number;
  attempts_left: number;
  items: { quiz_id: string; prompt: Content; left: Content; right: Content }[];
}

interface Result {
  passed: boolean;
  correct: number;
  total: number;
  attempts_left: number;
  results: { quiz_id: string; correct: boolean; expected: string }[];
}

const LABEL: Record<string, string> = { left: "Response 1", right: "Response 2", tie: "Tie" };

/**
 * How many of `n` answers must be right to pass, decided as the server does (right / n ≥ rate);
 * null when no score passes. A rounded percentage would mislead: 87.5% shows as "88%", though
 * 7 of 8 passes.
 */
function rightToPass(n: number, rate: number): number | null {
  for (let k = 0; k <= n; k++) if (k / n >= rate) return k;
  return null;
}

export function Quiz({ projectId, onDone }: { projectId: string; onDone: () => void }) {
  const [quiz, setQuiz] = useState<QuizData | null>(null);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Result | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  /** A failed submission: shown on the form, which keeps the answers for another try. */
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  // A ref as well as the state: a second click can come before React has re-rendered.
  const pending = useRef(false);
  /** The result replaces the form (and the button pressed), and a new try the result: the
   * focus goes to the heading of what replaced it. */
  const resultTitle = useRef<HTMLHeadingElement>(null);
  const quizTitle = useRef<HTMLHeadingElement>(null);
  const hadResult = useRef(false);
  useEffect(() => {
    if (result) resultTitle.current?.focus();
    else if (hadResult.current) quizTitle.current?.focus();
    hadResult.current = result !== null;
  }, [result]);
  const load = useCallback(() => {
    api<QuizData>("GET", `/api/projects/${projectId}/quiz`)
      .then(setQuiz)
      .catch((e) => setLoadError(String(e.message)));
  }, [projectId]);
  useEffect(load, [load]);
  if (loadError)
    return (
      <p role="alert" className="error card">
        {loadError}
      </p>
    );
  if (!quiz) return <p>Loading…</p>;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending.current) return;
    pending.current = true;
    setSending(true);
    setError(null);
    try {
      const r = await api<Result>("POST", `/api/projects/${projectId}/quiz`, {
        answers: quiz.items.map((i) => ({ quiz_id: i.quiz_id, choice: answers[i.quiz_id] })),
      });
      setResult(r);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "could not submit the quiz");
    } finally {
      pending.current = false;
      setSending(false);
    }
  };
  if (result) {
    return (
      <section className="card" aria-labelledby="quiz-result">
        <h1 id="quiz-result" tabIndex={-1} ref={resultTitle}>
          {result.passed ? "Quiz passed" : "Quiz not passed"}
        </h1>
        <p role="status">
          {result.correct} of {result.total} right.{" "}
          {!result.passed &&
            `${result.attempts_left} attempt${result.attempts_left === 1 ? "" : "s"} left.`}
        </p>
        <ul>
          {result.results.map((r, i) => (
            <li key={r.quiz_id}>
              Question {i + 1}: {r.correct ? "right" : `expected ${LABEL[r.expected]}`}
            </li>
          ))}
        </ul>
        {result.passed ? (
          <button type="button" onClick={onDone}>
            Start rating
          </button>
        ) : (
          <button
            type="button"
            onClick={() => {
              setResult(null);
              setAnswers({});
              load();
              onDone();
            }}
          >
            Try again
          </button>
        )}
      </section>
    );
  }
  const complete = quiz.items.every((i) => answers[i.quiz_id]);
  const needed = rightToPass(quiz.items.length, quiz.pass_rate);
  return (
    <form className="quiz" onSubmit={(e) => void submit(e)} aria-labelledby="quiz-title">
      <h1 id="quiz-title" tabIndex={-1} ref={quizTitle}>
        Onboarding quiz
      </h1>
      <p>
        Judge these {quiz.items.length} comparisons as the guidelines say;{" "}
        {needed === null
          ? `${Math.round(quiz.pass_rate * 100)}% right passes`
          : `at least ${needed} of ${quiz.items.length} right passes`}
        . {quiz.attempts_left} attempt
        {quiz.attempts_left === 1 ? "" : "s"} left.
      </p>
      {quiz.items.map((item, n) => (
        <fieldset key={item.quiz_id} className="quiz-item" data-quiz={item.quiz_id}>
          <legend>Question {n + 1}</legend>
          <div className="prompt">
            <ContentView value={item.prompt} />
          </div>
          <div className="pair">
            <div className="response">
              <h2>Response 1</h2>
              <ContentView value={item.left} />
            </div>
            <div className="response">
              <h2>Response 2</h2>
              <ContentView value={item.right} />
            </div>
          </div>
          <div className="choices">
            {(["left", "tie", "right"] as const).map((c) => (
              <label key={c} className="check">
                <input
                  type="radio"
                  name={item.quiz_id}
                  value={c}
                  checked={answers[item.quiz_id] === c}
                  onChange={() => setAnswers((a) => ({ ...a, [item.quiz_id]: c }))}
                />
                {LABEL[c]}
              </label>
            ))}
          </div>
        </fieldset>
      ))}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={!complete || sending}>
        Submit answers
      </button>
    </form>
  );
}
