/** The projects the user can see: rate them (members) or open their admin view (staff). */
import { useEffect, useState } from "react";
import { navigate } from "./App";
import { api, isStaff, type User } from "./api";

export function Home({ user }: { user: User }) {
  const [projects, setProjects] = useState<{ project_id: string; name: string }[] | null>(null);
  useEffect(() => {
    api<{ projects: { project_id: string; name: string }[] }>("GET", "/api/projects").then((r) =>
      setProjects(r.projects),
    );
  }, []);
  const go = (path: string) => (e: { preventDefault(): void }) => {
    e.preventDefault();
    navigate(path);
  };
  return (
    <section className="card">
      <h1>Projects</h1>
      {projects === null ? (
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
  );
}
