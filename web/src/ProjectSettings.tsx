/**
 * A project's settings on its admin page (admins and owners): name, guidelines, overlap, gold
 * share, lease, quiz and pause policy. Saving sends only what changed (PATCH); the server
 * checks every value and its message is shown on the form.
 */
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api } from "./api";

interface Settings {
  name: string;
  guidelines: string;
  overlap: number;
  gold_rate: number;
  lease_seconds: number;
  quiz_pass_rate: number;
  quiz_max_attempts: number;
  pause_gold_accuracy: number;
  pause_min_gold: number;
}

/**
 * The numeric settings with their labels and input steps. Fractions take any value ("any"): the
 * API accepts 0.555, and a step of 0.01 made the browser refuse the whole form over it.
 */
const NUMBERS: readonly [keyof Settings, string, number | "any"][] = [
  ["overlap", "Raters per comparison", 1],
  ["gold_rate", "Share of gold items", "any"],
  ["lease_seconds", "Seconds a served task stays reserved", 1],
  ["quiz_pass_rate", "Quiz pass rate", "any"],
  ["quiz_max_attempts", "Quiz attempts", 1],
  ["pause_gold_accuracy", "Pause raters below this gold accuracy", "any"],
  ["pause_min_gold", "…after this many gold items", 1],
];

export function ProjectSettings({
  projectId,
  onSaved,
}: {
  projectId: string;
  onSaved: () => void;
}) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    api<{ settings?: Settings }>("GET", `/api/projects/${projectId}`)
      .then((v) => setSettings(v.settings ?? null))
      .catch((e) => setError(e instanceof ApiError ? e.message : "cannot load the settings"));
  }, [projectId]);

  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!settings) return;
    setError(null);
    setSaved(null);
    const f = new FormData(e.currentTarget);
    const patch: Partial<Record<keyof Settings, string | number>> = {};
    for (const k of ["name", "guidelines"] as const) {
      const v = String(f.get(k) ?? "");
      if (v !== settings[k]) patch[k] = v;
    }
    for (const [k] of NUMBERS) {
      const v = Number(f.get(k));
      if (v !== settings[k]) patch[k] = v;
    }
    if (Object.keys(patch).length === 0) {
      setSaved("nothing changed");
      return;
    }
    try {
      setSettings(await api<Settings>("PATCH", `/api/projects/${projectId}`, patch));
      setSaved(`saved: ${Object.keys(patch).join(", ")}`);
      onSaved();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "could not save the settings");
    }
  };

  if (!settings) return error ? <p className="error">{error}</p> : null;
  return (
    <details className="card settings">
      <summary>Settings</summary>
      <form onSubmit={(e) => void save(e)}>
        <label>
          Name <input name="name" defaultValue={settings.name} required maxLength={200} />
        </label>
        <label>
          Guidelines (Markdown or text){" "}
          <textarea
            name="guidelines"
            defaultValue={settings.guidelines}
            rows={5}
            maxLength={100_000}
          />
        </label>
        {/* Required: an emptied field would otherwise be sent as 0 (Number("")), which for the
            pause threshold silently turns pausing off. */}
        {NUMBERS.map(([k, label, step]) => (
          <label key={k}>
            {label}{" "}
            <input name={k} type="number" step={step} min={0} required defaultValue={settings[k]} />
          </label>
        ))}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {saved && (
          <p role="status" data-testid="settings-saved">
            {saved}
          </p>
        )}
        <button type="submit">Save settings</button>
      </form>
    </details>
  );
}
