/**
 * The admin view of a project: progress, raters with live scores and verdicts, the review
 * queue (reinstate or exclude), agreement per batch, collusion groups, triggers and promoted names from the
 * audit, export, invitations, adding items from a JSONL file, and (admins and owners) the
 * project's settings. Scores refresh every few seconds; a refresh that fails says so until one
 * succeeds, and a project that cannot be loaded shows only why.
 */
import { useCallback, useEffect, useState } from "react";
import { ApiError, api } from "./api";
import { ProjectSettings } from "./ProjectSettings";

interface Rater {
  user_id: string;
  login: string;
  display_name: string;
  status: string;
  status_reason: string | null;
  judgments: number;
  skipped: number;
  gold_seen: number;
  gold_correct: number;
  gold_accuracy: number | null;
  reliability: number | null;
  agreement: number | null;
  position_bias: number | null;
  median_latency_ms: number | null;
  flagged: number;
  suspicion: number | null;
  verdict: string;
  verdict_source: string;
  reasons: string[];
  /** The audit's detectors that had evidence on the rater; [] unchecked; null no audit yet. */
  checked_by?: string[] | null;
}

interface ProgressData {
  tasks: number;
  gold: number;
  quiz: number;
  complete: number;
  judgments: number;
  needed: number;
  raters: { active: number; paused: number; excluded: number };
}

interface Batch {
  batch: string;
  comparisons: number;
  judgments: number;
  complete: number;
  krippendorff_alpha: number | null;
  fleiss_kappa: number | null;
}

interface Groups {
  source: string;
  groups: { rater_ids: string[]; score: number | null; reason: string }[];
  triggers: { pattern: string; score: number | null; support: number }[];
  /** Absent from servers older than the promotion scan. */
  promotions?: { pattern: string; score: number | null; support: number; raters: number }[];
}

/** Items per request: well under the route's 10,000 items and 16 MiB. */
const ITEM_BATCH = 2000;
const BATCH_BYTES = 8 * 1024 * 1024;

/** The file's items, one JSON object a line; a bad line is named by its number. */
function parseItems(name: string, text: string): { items: unknown[]; lines: number[] } {
  const items: unknown[] = [];
  const lines: number[] = [];
  text.split("\n").forEach((raw, i) => {
    const l = raw.trim();
    if (!l) return;
    try {
      items.push(JSON.parse(l));
    } catch {
      throw new Error(`${name}:${i + 1}: not valid JSON`);
    }
    lines.push(i + 1);
  });
  if (items.length === 0) throw new Error(`${name}: no items in the file`);
  return { items, lines };
}

/**
 * A figure the server could not estimate comes as null (JSON has no NaN), or is absent from an
 * older server: every one shows as "—", never as 0, "NaN" or a page that stops rendering.
 */
const known = (x: number | null | undefined): x is number =>
  typeof x === "number" && Number.isFinite(x);
const pct = (x: number | null | undefined) => (known(x) ? `${Math.round(x * 100)}%` : "—");
const num = (x: number | null | undefined, d = 2) => (known(x) ? x.toFixed(d) : "—");
const seconds = (ms: number | null | undefined) =>
  known(ms) ? `${(ms / 1000).toFixed(1)} s` : "—";

export function Admin({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const [raters, setRaters] = useState<Rater[] | null>(null);
  const [progress, setProgress] = useState<ProgressData | null>(null);
  const [batches, setBatches] = useState<Batch[]>([]);
  const [groups, setGroups] = useState<Groups | null>(null);
  /** The last refresh's failure (cleared by the next success). */
  const [loadError, setLoadError] = useState<string | null>(null);
  /** An action's failure (review, invitation, adding items): stays until the next action. */
  const [error, setError] = useState<string | null>(null);
  const [invite, setInvite] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const base = `/api/projects/${projectId}`;
      const [r, p, a, g] = await Promise.all([
        api<{ raters: Rater[] }>("GET", `${base}/raters`),
        api<ProgressData>("GET", `${base}/progress`),
        api<{ batches: Batch[] }>("GET", `${base}/agreement`),
        api<Groups>("GET", `${base}/groups`),
      ]);
      setRaters(r.raters);
      setProgress(p);
      setBatches(a.batches);
      setGroups(g);
      setLoadError(null);
    } catch (e) {
      setLoadError(e instanceof ApiError ? e.message : "cannot load the project");
    }
  }, [projectId]);

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load]);

  const review = async (userId: string, action: "reinstate" | "exclude" | "pause") => {
    const reason = prompt(`Reason to ${action} this rater:`);
    if (!reason) return;
    try {
      await api("POST", `/api/projects/${projectId}/members/${userId}/review`, { action, reason });
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "review failed");
    }
  };

  const makeInvite = async () => {
    try {
      const r = await api<{ path: string }>("POST", "/api/invitations", {
        role: "rater",
        project_id: projectId,
      });
      setInvite(`${location.origin}${r.path}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "could not create an invitation");
    }
  };

  /** Sends the file's items in batches; a rejected batch names its first and last line. */
  const addItems = async (file: File) => {
    setAdded(null);
    setError(null);
    let parsed: { items: unknown[]; lines: number[] };
    try {
      parsed = parseItems(file.name, await file.text());
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    let addedCount = 0;
    let existing = 0;
    for (let at = 0; at < parsed.items.length; ) {
      let end = at;
      let bytes = 0;
      while (end < parsed.items.length && end - at < ITEM_BATCH && bytes < BATCH_BYTES)
        bytes += JSON.stringify(parsed.items[end++]).length;
      try {
        const r = await api<{ added: number; existing: number }>(
          "POST",
          `/api/projects/${projectId}/items`,
          { items: parsed.items.slice(at, end) },
        );
        addedCount += r.added;
        existing += r.existing;
      } catch (e) {
        const where = `${file.name}, lines ${parsed.lines[at]}–${parsed.lines[end - 1]}`;
        const why = e instanceof ApiError ? e.message : "the server did not answer";
        setError(
          `${where}: ${why}${addedCount + existing > 0 ? ` (the ${addedCount} items before them were added)` : ""}`,
        );
        await load();
        return;
      }
      at = end;
    }
    setAdded(`${file.name}: added ${addedCount} items (${existing} already in the project)`);
    await load();
  };

  const queue = (raters ?? []).filter((r) => r.status === "paused");
  if (!progress || !raters)
    return (
      <div className="admin">
        <h1>Project {projectId}</h1>
        {loadError ? (
          <p role="alert" className="error">
            {loadError}
          </p>
        ) : (
          <p>Loading…</p>
        )}
      </div>
    );
  return (
    <div className="admin">
      <h1>Project {projectId}</h1>
      {loadError && (
        <p role="alert" className="error">
          Refreshing failed: {loadError}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <section className="card" aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        <progress
          value={progress.complete}
          max={Math.max(1, progress.tasks)}
          aria-label="Comparisons complete"
        />
        <p>
          {progress.complete} of {progress.tasks} task comparisons complete · {progress.judgments}{" "}
          judgments · {progress.gold} gold items mixed in · {progress.quiz} quiz items · raters:{" "}
          {progress.raters.active} active, {progress.raters.paused} paused,{" "}
          {progress.raters.excluded} excluded
        </p>
        <p>
          <a href={`/api/projects/${projectId}/export`} download>
            Export judgments (JSONL)
          </a>
          {/* Inviting and adding items are for admins and owners; a reviewer would get 403. */}
          {canEdit && (
            <>
              {" "}
              ·{" "}
              <button type="button" className="link" onClick={() => void makeInvite()}>
                Invite a rater
              </button>
            </>
          )}
        </p>
        {invite && (
          <p>
            Invitation link (shown once): <code className="text">{invite}</code>
          </p>
        )}
        {canEdit && (
          <p>
            <label>
              Add items (JSONL: comparison_id, prompt, response_a, response_b, gold?, kind?, batch?){" "}
              <input
                type="file"
                accept=".jsonl,.json,application/json,text/plain"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  e.target.value = "";
                  if (f) void addItems(f);
                }}
              />
            </label>
          </p>
        )}
        {added && (
          <p role="status" data-testid="items-added">
            {added}
          </p>
        )}
      </section>
      {canEdit && <ProjectSettings projectId={projectId} onSaved={() => void load()} />}
      <section className="card" aria-labelledby="raters-title">
        <h2 id="raters-title">Raters</h2>
        <div className="scroll">
          <table className="raters">
            <thead>
              <tr>
                <th scope="col">Rater</th>
                <th scope="col">Status</th>
                <th scope="col">Judged</th>
                <th scope="col">Gold</th>
                <th scope="col">Reliability</th>
                <th scope="col">Agreement</th>
                <th scope="col">Left bias</th>
                <th scope="col">Median time</th>
                <th scope="col">Flagged</th>
                <th scope="col">Suspicion</th>
                <th scope="col">Verdict</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {raters.length === 0 && (
                <tr>
                  <td colSpan={12}>No raters in this project yet; invite some.</td>
                </tr>
              )}
              {raters.map((r) => (
                <tr key={r.user_id} data-rater={r.login}>
                  <th scope="row">{r.display_name}</th>
                  <td>{r.status}</td>
                  <td data-col="judgments">{r.judgments}</td>
                  {/* No gold judged yet is not 0% right: it would read as a failing rater. */}
                  <td data-col="gold">
                    {r.gold_seen > 0 ? (
                      `${r.gold_correct}/${r.gold_seen} (${pct(r.gold_accuracy)})`
                    ) : (
                      <span className="muted">no gold yet</span>
                    )}
                  </td>
                  <td data-col="reliability">{num(r.reliability)}</td>
                  <td data-col="agreement">{num(r.agreement)}</td>
                  <td data-col="position-bias">{pct(r.position_bias)}</td>
                  <td data-col="latency">{seconds(r.median_latency_ms)}</td>
                  <td data-col="flagged">{r.flagged}</td>
                  <td data-col="suspicion">{num(r.suspicion)}</td>
                  <td
                    data-col="verdict"
                    title={[
                      ...r.reasons,
                      ...(r.checked_by?.length ? [`checked by ${r.checked_by.join(", ")}`] : []),
                    ].join("; ")}
                  >
                    {r.verdict}
                    <span className="muted"> ({r.verdict_source})</span>
                    {/* The audit had no evidence on them: "trusted" is not "cleared". */}
                    {r.checked_by?.length === 0 && (
                      <span className="muted" data-unchecked="">
                        {" "}
                        · unchecked
                      </span>
                    )}
                  </td>
                  <td>
                    {r.status === "active" && (
                      <button
                        type="button"
                        className="link"
                        onClick={() => void review(r.user_id, "pause")}
                      >
                        Pause
                      </button>
                    )}
                    {r.status !== "active" && (
                      <button
                        type="button"
                        className="link"
                        onClick={() => void review(r.user_id, "reinstate")}
                      >
                        Reinstate
                      </button>
                    )}
                    {r.status !== "excluded" && (
                      <button
                        type="button"
                        className="link"
                        onClick={() => void review(r.user_id, "exclude")}
                      >
                        Exclude
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card" aria-labelledby="queue-title">
        <h2 id="queue-title">Review queue</h2>
        {queue.length === 0 ? (
          <p>No rater is waiting for review.</p>
        ) : (
          <ul className="queue">
            {queue.map((r) => (
              <li key={r.user_id}>
                <strong>
                  <bdi>{r.display_name}</bdi>
                </strong>
                : <span className="text">{r.status_reason}</span>{" "}
                <button type="button" onClick={() => void review(r.user_id, "reinstate")}>
                  Reinstate
                </button>{" "}
                <button
                  type="button"
                  className="secondary"
                  onClick={() => void review(r.user_id, "exclude")}
                >
                  Exclude
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="agreement-title">
        <h2 id="agreement-title">Agreement per batch</h2>
        {/* Wider than a phone: it scrolls in its own box (which browsers let the keyboard focus). */}
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col">Comparisons (gold included)</th>
                <th scope="col">Complete</th>
                <th scope="col">Judgments</th>
                <th scope="col">Krippendorff α</th>
                <th scope="col">Fleiss κ</th>
              </tr>
            </thead>
            <tbody>
              {batches.length === 0 && (
                <tr>
                  <td colSpan={6}>No items yet.</td>
                </tr>
              )}
              {batches.map((b) => (
                <tr key={b.batch}>
                  <th scope="row">{b.batch}</th>
                  <td>{b.comparisons}</td>
                  <td>{b.complete}</td>
                  <td>{b.judgments}</td>
                  <td>{num(b.krippendorff_alpha)}</td>
                  <td>{num(b.fleiss_kappa)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card" aria-labelledby="groups-title">
        <h2 id="groups-title">Groups and triggers</h2>
        {groups?.source !== "audit" ? (
          <p>No audit yet: it runs once raters have judged some comparisons.</p>
        ) : (
          <>
            <h3>Raters who vote together</h3>
            {groups.groups.length === 0 ? (
              <p>None found.</p>
            ) : (
              <ul>
                {groups.groups.map((g) => (
                  <li key={g.rater_ids.join(",")}>
                    {g.rater_ids.join(", ")} — score {num(g.score)}:{" "}
                    <span className="text">{g.reason}</span>
                  </li>
                ))}
              </ul>
            )}
            <h3>Trigger patterns</h3>
            {groups.triggers.length === 0 ? (
              <p>None found.</p>
            ) : (
              <ul>
                {groups.triggers.map((t) => (
                  <li key={t.pattern}>
                    <code className="text">{t.pattern}</code> — score {num(t.score)}, support{" "}
                    {t.support}
                  </li>
                ))}
              </ul>
            )}
            <h3>Promoted names</h3>
            <p className="muted">
              Names in responses that some raters choose far more often than the other raters of the
              same comparisons.
            </p>
            {(groups.promotions ?? []).length === 0 ? (
              <p>None found.</p>
            ) : (
              <ul>
                {(groups.promotions ?? []).map((p) => (
                  <li key={p.pattern}>
                    <code className="text">{p.pattern}</code> — score {num(p.score)}, in {p.support}{" "}
                    comparisons, {p.raters} {p.raters === 1 ? "rater" : "raters"} leaning to it
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </section>
    </div>
  );
}
