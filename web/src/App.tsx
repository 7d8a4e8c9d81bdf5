/** The shell: who is signed in, and a tiny path router (/login, /invite/…, /rate/…, /admin/…). */
import { type ReactElement, useCallback, useEffect, useRef, useState } from "react";
import { Admin } from "./Admin";
import { ApiError, api, isStaff, onSessionEnd, setCsrf, type User } from "./api";
import { Home } from "./Home";
import { Invite, Login } from "./Login";
import { Modal } from "./Modal";
import { Rate } from "./Rate";

export function navigate(path: string): void {
  history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return path;
}

/** Where signing in leads: the page asked for (a rating page opened from a link or reloaded
 * after the session ended), but not back to a sign-in or invitation page. */
function afterSignIn(): string {
  const p = location.pathname;
  return p === "/login" || p.startsWith("/invite/") ? "/" : p;
}

export function App() {
  const path = usePath();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [sessionEnded, setSessionEnded] = useState(false);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const me = await api<{ user: User; csrf_token: string | null }>("GET", "/api/me");
      setCsrf(me.csrf_token, me.user.user_id);
      setUser(me.user);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setUser(null);
      else setLoadError(e instanceof ApiError ? e.message : "the app could not start");
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // A new page (another path, or signing in or out) moves the focus to its content, as a page
  // load would, rather than leaving it on a control that is gone: the next Tab goes into the
  // page, and a screen reader reads it.
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (user === undefined) return;
    const page = `${path}\u0000${user?.user_id ?? ""}`;
    if (shown.current !== null && shown.current !== page) document.getElementById("main")?.focus();
    shown.current = page;
  }, [path, user]);

  useEffect(() => {
    onSessionEnd(() => setSessionEnded(true));
    return () => onSessionEnd(null);
  }, []);

  /** Signed in again over the page: it stays as it was (an unsent judgment, a rationale). */
  const resumed = (u: User, token: string | null) => {
    setCsrf(token, u.user_id);
    setSessionEnded(false);
    setUser(u);
  };

  const signedIn = (u: User, token: string | null) => {
    setCsrf(token, u.user_id);
    setUser(u);
    const to = afterSignIn();
    if (to !== location.pathname) navigate(to);
  };

  const signOut = async () => {
    await api("DELETE", "/api/session").catch(() => undefined);
    setCsrf(null, null);
    setSessionEnded(false);
    setUser(null);
    navigate("/login");
  };

  if (loadError)
    return (
      <main id="main">
        <section className="card narrow">
          <p role="alert" className="error">
            Cannot reach keel: {loadError}
          </p>
          <button type="button" onClick={() => void load()}>
            Try again
          </button>
        </section>
      </main>
    );
  if (user === undefined) return <p className="loading">Loading…</p>;
  const invite = /^\/invite\/([A-Za-z0-9_-]+)$/.exec(path);
  let page: ReactElement;
  if (invite) page = <Invite token={invite[1]!} onDone={signedIn} />;
  else if (user === null) page = <Login onDone={signedIn} />;
  else {
    const rate = /^\/rate\/([A-Za-z0-9_.:-]+)$/.exec(path);
    const admin = /^\/admin\/([A-Za-z0-9_.:-]+)$/.exec(path);
    if (rate) page = <Rate projectId={rate[1]!} />;
    else if (admin && isStaff(user))
      page = (
        <Admin projectId={admin[1]!} canEdit={user.role === "admin" || user.role === "owner"} />
      );
    else page = <Home user={user} />;
  }
  return (
    <>
      <header className="top">
        <a
          href="/"
          className="brand"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          keel
        </a>
        {user && (
          <span className="who">
            {user.display_name} <span className="badge">{user.role}</span>
            <button type="button" className="link" onClick={() => void signOut()}>
              Sign out
            </button>
          </span>
        )}
      </header>
      {/* Another user signing in over the page starts it afresh. */}
      <main id="main" key={user?.user_id ?? ""} tabIndex={-1}>
        {page}
      </main>
      {sessionEnded && user && (
        <Modal labelledBy="login-title">
          <Login
            onDone={resumed}
            notice="Your session has ended. Sign in again to go on where you were; nothing on this page is lost."
          />
        </Modal>
      )}
    </>
  );
}
