/**
 * The projects the user can see: rate them (members) or open their admin view (staff); admins
 * and owners create a project here and then add its items on its admin page.
 */
import { type FormEvent, useEffect, useState } from "react";
import { navigate } from "./App";
import { ApiError, api, isStaff, type User } from "./api";

const canCreate = (u: User) => u.role === "admin" || u.role === "owner";

/** A new project's id, name and main settings; the rest keep the server's defaults. */
function NewProject() {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? "").trim();
    const body = {
      project_id: text("project_id"),
      name: text("name"),
      overlap: Number(text("overlap")),
      gold_rate: Number(text("gold_rate")),
      ...(text("guidelines") ? { guidelines: text("guidelines") } : {}),
    };
    try {
      await api("POST", "/api/projects", body);
      navigate(`/admin/${body.project_id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "could not create the project");
    }
  };
  return (
    <details className="card new-project">
      <summary>New project</summary>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Id (letters, digits, _ . : -) <input name="project_id" required maxLength={64} />
        </label>
        <label>
          Name <input name="name" required maxLength={200} />
        </label>
        <label>
          Raters per comparison{" "}
          <input name="overlap" type="number" min={1} max={100} defaultValue={3} />
        </label>
        <label>
          Share of gold items{" "}
          <input name="gold_rate" type="number" min={0} max={0.9} step="any" defaultValue={0.1} />
        </label>
        <label>
          Guidelines (Markdown or text) <textarea name="guidelines" rows={4} maxLength={100_000} />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit">Create</button>
      </form>
    </details>
  );
}

export function Home({ user }: { user: User }) {
  const [projects, setProjects] = useState<{ project_id: string; name: string }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ projects: { project_id: string; name: string }[] }>("GET", "/api/projects")
      .then((r) => setProjects(r.projects))
      .catch((e) => setError(e instanceof ApiError ? e.message : "cannot load the projects"));
  }, []);
  const go = (path: string) => (e: { preventDefault(): void }) => {
    e.preventDefault();
    navigate(path);
  };
  return (
    <>
      <section className="card">
        <h1>Projects</h1>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : projects === null ? (
          <p>Loading…</p>
        ) : projects.length === 0 ? (
          <p>You are not part of any project yet.</p>
        ) : (
          <ul className="projects">
            {projects.map((p) => (
              <li key={p.project_id}>
                <span className="pname">{p.name}</span>
                {user.role === "rater" ? (
                  <a href={`/rate/${p.project_id}`} onClick={go(`/rate/${p.project_id}`)}>
                    Start rating
                  </a>
                ) : (
                  <>
                    <a href={`/admin/${p.project_id}`} onClick={go(`/admin/${p.project_id}`)}>
                      Admin
                    </a>
                    {isStaff(user) && (
                      <a href={`/rate/${p.project_id}`} onClick={go(`/rate/${p.project_id}`)}>
                        Rate (if you are a member)
                      </a>
                    )}
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      {canCreate(user) && <NewProject />}
    </>
  );
}
