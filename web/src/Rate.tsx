/**
 * The rater's page: guidelines first, then the onboarding quiz, then comparisons side by side.
 * Keyboard: 1 / 2 / 3 choose left / right / tie (and submit), f flags the pair as unsafe,
 * ? opens the help. Shortcuts are off while typing a rationale (Esc leaves the text box) and
 * while a dialog is open. One press is one decision: a held key's repeats, and the second click
 * of a double click, never judge the comparison that replaced the one just judged.
 *
 * On a slow connection the page says "Saving…" until the server has acknowledged the judgment,
 * and only then "Saved"; a choice that was not saved is named in the error, with the flag and
 * rationale left in place to choose again. The focus stays on the control used (or, when that
 * is gone, moves to what replaced it), never dropped to the top of the page.
 *
 * A rater paused (or excluded) while a comparison is on screen sees the same page as one who
 * arrives paused: a refusal (403) of a judgment, a skip or the next task reloads their standing
 * in the project, and the page follows it; only a 403 that leaves them free to work is shown
 * as an error.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { ApiError, api, type Progress, type Task } from "./api";
import { ContentView } from "./Content";
import { Modal, modalOpen } from "./Modal";
import { Quiz } from "./Quiz";

interface Me {
  project_id: string;
  name: string;
  guidelines: string;
  me: {
    status: "active" | "paused" | "excluded";
    guidelines_acknowledged: boolean;
    quiz_required: boolean;
    quiz_passed: boolean;
    quiz_attempts_left: number;
  };
}

type Side = "left" | "right" | "tie";

const CHOICE: Record<Side, string> = {
  left: "Response 1 is better",
  right: "Response 2 is better",
  tie: "Tie",
};

/** Keys that act on the comparison shown; their auto-repeats are ignored. */
const SHORTCUTS = new Set(["1", "2", "3", "f", "F", "?"]);

/** The task control that has the focus (its data-focus), to focus again if it is re-rendered away. */
function focusedControl(): string | null {
  const at = document.activeElement;
  return at instanceof HTMLElement ? (at.dataset.focus ?? null) : null;
}

/** The first click of a mouse double click (or a keyboard activation, detail 0) only. */
const once = (act: () => void) => (e: { detail: number }) => {
  if (e.detail <= 1) act();
};

export function Rate({ projectId }: { projectId: string }) {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [acking, setAcking] = useState(false);
  const reload = useCallback(() => {
    api<Me>("GET", `/api/projects/${projectId}/me`)
      .then(setMe)
      .catch((e) => setError(e instanceof ApiError ? e.message : "cannot load the project"));
  }, [projectId]);
  /** After a refusal: true when the rater may no longer rate here (the page then shows why). */
  const stopped = useCallback(async () => {
    const m = await api<Me>("GET", `/api/projects/${projectId}/me`).catch(() => null);
    if (m === null || stageOf(m) === "rating") return false;
    setMe(m);
    return true;
  }, [projectId]);
  useEffect(reload, [reload]);
  // Guidelines read, quiz passed: the next step replaces the button that led to it, so the
  // focus goes to the page (as on a new page), not to the top of the document.
  const stage = me ? stageOf(me) : null;
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (stage === null) return;
    if (shown.current !== null && shown.current !== stage) document.getElementById("main")?.focus();
    shown.current = stage;
  }, [stage]);

  if (error)
    return (
      <p role="alert" className="error card">
        {error}
      </p>
    );
  if (!me) return <p>Loading…</p>;
  if (me.me.status !== "active") {
    return (
      <section className="card" aria-labelledby="paused-title">
        <h1 id="paused-title">{me.name}</h1>
        <p role="status">
          {me.me.status === "paused"
            ? "Your work on this project is paused while a reviewer looks at it. You will be able to continue once they reinstate you."
            : "You are no longer taking part in this project."}
        </p>
      </section>
    );
  }
  if (!me.me.guidelines_acknowledged) {
    return (
      <section className="card" aria-labelledby="guidelines-title">
        <h1 id="guidelines-title">
          <bdi>{me.name}</bdi>: guidelines
        </h1>
        <div className="guidelines text">
          {me.guidelines || "No guidelines were given for this project."}
        </div>
        <button
          type="button"
          disabled={acking}
          onClick={() => {
            setAcking(true);
            api("POST", `/api/projects/${projectId}/guidelines/ack`)
              .then(reload)
              .catch((e) => setError(e instanceof ApiError ? e.message : "could not save that"))
              .finally(() => setAcking(false));
          }}
        >
          I have read the guidelines
        </button>
      </section>
    );
  }
  if (me.me.quiz_required && !me.me.quiz_passed)
    return <Quiz projectId={projectId} onDone={reload} />;
  return (
    <Rating projectId={projectId} name={me.name} guidelines={me.guidelines} stopped={stopped} />
  );
}

function stageOf(me: Me): "stopped" | "guidelines" | "quiz" | "rating" {
  if (me.me.status !== "active") return "stopped";
  if (!me.me.guidelines_acknowledged) return "guidelines";
  if (me.me.quiz_required && !me.me.quiz_passed) return "quiz";
  return "rating";
}

const REASONS = [
  ["unclear", "The task is unclear"],
  ["no_expertise", "I lack the expertise"],
  ["harmful_content", "Too disturbing to judge"],
  ["broken", "Something is broken"],
  ["other", "Other"],
] as const;

function Rating({
  projectId,
  name,
  guidelines,
  stopped,
}: {
  projectId: string;
  name: string;
  guidelines: string;
  /** Reloads the rater's standing after a refusal: true when they may no longer rate. */
  stopped: () => Promise<boolean>;
}) {
  const [task, setTask] = useState<Task | null | undefined>(undefined);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [flagged, setFlagged] = useState(false);
  const [rationale, setRationale] = useState("");
  const [help, setHelp] = useState(false);
  const [announce, setAnnounce] = useState("");
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [skipReason, setSkipReason] = useState<string>("unclear");
  const [stalled, setStalled] = useState(false);
  /** What is on its way to the server ("Response 1 is better", "Skip"), until it answers. */
  const [saving, setSaving] = useState<string | null>(null);
  const busy = useRef(false);
  /** The control to give the focus back to once the next task is shown (data-focus), if the
   * one that had it was removed meanwhile (a skip shows "Loading…" in between). */
  const refocus = useRef<string | null>(null);
  /** The last task judged or skipped: a late key event bound to it must not send it again. */
  const finished = useRef<string | null>(null);
  const closeHelp = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (help) closeHelp.current?.focus();
  }, [help]);
  useEffect(() => {
    const key = refocus.current;
    if (key === null || task === undefined) return;
    refocus.current = null;
    const at = document.activeElement;
    if (at && at !== document.body) return;
    const el =
      document.querySelector<HTMLElement>(`[data-focus="${key}"]`) ??
      document.querySelector<HTMLElement>('[data-focus="end"]');
    el?.focus();
  }, [task]);

  const fetchNext = useCallback(async () => {
    setStalled(false);
    try {
      const r = await api<{ task: Task | null; progress: Progress }>(
        "POST",
        `/api/projects/${projectId}/tasks/next`,
      );
      setTask(r.task);
      setProgress(r.progress);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403 && (await stopped())) return;
      setError(e instanceof ApiError ? e.message : "cannot load the next comparison");
      setStalled(true);
    }
  }, [projectId, stopped]);

  useEffect(() => {
    void fetchNext();
  }, [fetchNext]);

  const reset = () => {
    setFlagged(false);
    setRationale("");
  };

  /**
   * A refused judgment or skip: 409 / 404 mean the task is no longer the rater's (already
   * recorded, or its reservation went to others), so the next one is fetched; anything else
   * leaves the task, its flag and its rationale in place to try again.
   */
  const failed = useCallback(
    async (e: unknown, what: string) => {
      if (e instanceof ApiError && (e.status === 409 || e.status === 404)) {
        // KEEL_E_DUPLICATE: an earlier try did reach the server (its answer was lost on the way
        // back), so the comparison is done, not taken away.
        setAnnounce(
          e.code === "KEEL_E_DUPLICATE"
            ? "That comparison was already recorded; here is the next one."
            : "That comparison is no longer yours; here is the next one.",
        );
        setFlagged(false);
        setRationale("");
        refocus.current = focusedControl();
        await fetchNext();
      } else if (e instanceof ApiError && e.status === 403 && (await stopped())) {
        // Paused or excluded while the comparison was on screen: the page says so.
      } else if (e instanceof ApiError && e.status === 401)
        setError(`${what} was not saved: your session had ended. Sign in, then try again.`);
      else if (e instanceof ApiError && e.status === 0)
        // No answer: it may have been saved all the same. Trying again is safe; a comparison
        // already recorded is answered as such (above).
        setError(`${what} may not have been saved: ${e.message}`);
      else setError(`${what} was not saved: ${e instanceof ApiError ? e.message : "try again"}`);
    },
    [fetchNext, stopped],
  );

  const choose = useCallback(
    async (side: Side) => {
      if (!task || busy.current || finished.current === task.task_id) return;
      busy.current = true;
      setError(null);
      setAnnounce("");
      setSaving(CHOICE[side]);
      try {
        const r = await api<{ status: string; progress: Progress; next?: Task | null }>(
          "POST",
          `/api/tasks/${task.task_id}/judgment`,
          {
            choice: side,
            next: true,
            ...(rationale.trim() ? { rationale: rationale.trim() } : {}),
            ...(flagged ? { flags: ["unsafe"] } : {}),
          },
        );
        finished.current = task.task_id;
        setProgress(r.progress);
        setFlagged(false);
        setRationale("");
        refocus.current = focusedControl();
        if (r.status !== "active") setPaused(true);
        // Asked for with next: true, a next task left out means the server could not fetch
        // it after saving this judgment: ask for it separately.
        else if (r.next === undefined) void fetchNext();
        else setTask(r.next);
        setAnnounce(
          `Saved: ${CHOICE[side]}${flagged ? ", flagged unsafe" : ""}. ${r.progress.judged} judged.`,
        );
      } catch (e) {
        await failed(e, `“${CHOICE[side]}”`);
      } finally {
        busy.current = false;
        setSaving(null);
      }
    },
    [task, rationale, flagged, failed, fetchNext],
  );

  const skip = async () => {
    if (!task || busy.current || finished.current === task.task_id) return;
    busy.current = true;
    setError(null);
    setAnnounce("");
    setSaving("Skip");
    try {
      const r = await api<{ progress: Progress }>("POST", `/api/tasks/${task.task_id}/skip`, {
        reason: skipReason,
      });
      finished.current = task.task_id;
      setProgress(r.progress);
      reset();
      setAnnounce(`Skipped. ${r.progress.skipped} skipped.`);
      refocus.current = focusedControl();
      setTask(undefined);
      await fetchNext();
    } catch (e) {
      await failed(e, "The skip");
    } finally {
      busy.current = false;
      setSaving(null);
    }
  };

  // The key handler calls the latest `choose` through a ref set as each render is committed
  // (before the browser paints it): re-attached by the effect below instead, a key pressed just
  // after the next task appeared reached the previous task's `choose`, which had finished that
  // task, and the press was dropped without a word.
  const chooseNow = useRef(choose);
  useLayoutEffect(() => {
    chooseNow.current = choose;
  });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT")) {
        if (e.key === "Escape") t.blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      // Over the help, ? and Esc close it; under any dialog, nothing acts on the hidden pair.
      if (help && (e.key === "?" || e.key === "Escape")) {
        setHelp(false);
        e.preventDefault();
        return;
      }
      if (modalOpen()) return;
      // Holding a key (or Enter on a focused button) repeats it; one press is one decision.
      if (e.repeat && (SHORTCUTS.has(e.key) || (e.key === "Enter" && t?.tagName === "BUTTON"))) {
        e.preventDefault();
        return;
      }
      if (e.key === "?") {
        setHelp((h) => !h);
        e.preventDefault();
      } else if (e.key === "Escape") setHelp(false);
      else if (e.key === "1") void chooseNow.current("left");
      else if (e.key === "2") void chooseNow.current("right");
      else if (e.key === "3") void chooseNow.current("tie");
      else if (e.key === "f" || e.key === "F") setFlagged((x) => !x);
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [help]);

  return (
    <section className="rating" aria-labelledby="rating-title">
      <div className="rating-head">
        <h1 id="rating-title">{name}</h1>
        {progress && (
          <div className="progress" data-testid="progress">
            <progress
              value={progress.judged + progress.skipped}
              max={Math.max(progress.total, 1)}
              aria-label="Progress"
            />
            <span>
              <strong data-testid="judged">{progress.judged}</strong> judged · {progress.skipped}{" "}
              skipped
            </span>
          </div>
        )}
        <button type="button" className="link" onClick={() => setHelp(true)} aria-keyshortcuts="?">
          Help (?)
        </button>
      </div>
      {/* Shown as well as read out: on a slow connection, whether the last choice is saved yet. */}
      <p className="status muted" role="status" aria-live="polite" data-testid="announce">
        {saving ? `Saving: ${saving}…` : announce}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {paused ? (
        <p role="status" className="card">
          Your work on this project is paused while a reviewer looks at it.
        </p>
      ) : task === undefined ? (
        stalled ? (
          <button type="button" onClick={() => void fetchNext()} data-focus="end">
            Load the next comparison
          </button>
        ) : (
          <p>Loading…</p>
        )
      ) : task === null ? (
        <p className="card" role="status" tabIndex={-1} data-focus="end">
          Nothing left to judge right now. Thank you!
        </p>
      ) : (
        // Long texts scroll inside their boxes (styles.css), so the pair and the choices stay on
        // screen; browsers let the keyboard focus a box that scrolls, to scroll it with the arrows.
        <div className="task" data-task={task.task_id} aria-busy={saving !== null}>
          <section className="prompt" aria-label="Prompt">
            <h2>Prompt</h2>
            <ContentView value={task.prompt} />
          </section>
          <div className="pair">
            <section className="response" aria-label="Response 1 (left)">
              <h2>Response 1</h2>
              <ContentView value={task.left} />
            </section>
            <section className="response" aria-label="Response 2 (right)">
              <h2>Response 2</h2>
              <ContentView value={task.right} />
            </section>
          </div>
          <div className="controls">
            {(
              [
                ["left", "1"],
                ["tie", "3"],
                ["right", "2"],
              ] as const
            ).map(([side, key]) => (
              <button
                key={side}
                type="button"
                onClick={once(() => void choose(side))}
                aria-keyshortcuts={key}
                aria-disabled={saving !== null}
                data-focus={side}
              >
                <kbd>{key}</kbd> {CHOICE[side]}
              </button>
            ))}
          </div>
          <div className="extras">
            <label className="check">
              <input
                type="checkbox"
                checked={flagged}
                onChange={(e) => setFlagged(e.target.checked)}
                aria-keyshortcuts="f"
              />
              Flag as unsafe (<kbd>f</kbd>)
            </label>
            <label className="rationale">
              Why? (optional)
              <textarea
                value={rationale}
                maxLength={2000}
                rows={2}
                onChange={(e) => setRationale(e.target.value)}
              />
            </label>
            <div className="skip">
              <label>
                Skip because
                <select value={skipReason} onChange={(e) => setSkipReason(e.target.value)}>
                  {REASONS.map(([k, v]) => (
                    <option key={k} value={k}>
                      {v}
                    </option>
                  ))}
                </select>
              </label>
              <button
                type="button"
                className="secondary"
                onClick={once(() => void skip())}
                aria-disabled={saving !== null}
                data-focus="skip"
              >
                Skip
              </button>
            </div>
          </div>
        </div>
      )}
      {help && (
        <Modal labelledBy="help-title">
          <div className="card">
            <h2 id="help-title">Keyboard shortcuts</h2>
            <dl className="keys">
              <dt>
                <kbd>1</kbd>
              </dt>
              <dd>Response 1 (left) is better</dd>
              <dt>
                <kbd>2</kbd>
              </dt>
              <dd>Response 2 (right) is better</dd>
              <dt>
                <kbd>3</kbd>
              </dt>
              <dd>Tie</dd>
              <dt>
                <kbd>f</kbd>
              </dt>
              <dd>Flag the pair as unsafe (toggle)</dd>
              <dt>
                <kbd>?</kbd>
              </dt>
              <dd>This help</dd>
            </dl>
            <h3>Guidelines</h3>
            <div className="guidelines text">{guidelines}</div>
            <button type="button" onClick={() => setHelp(false)} ref={closeHelp}>
              Close
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
