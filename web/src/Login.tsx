/** Signing in, and accepting an invitation (which creates the account). */
import { type FormEvent, useEffect, useRef, useState } from "react";
import { ApiError, api, type User } from "./api";

type Done = (u: User, csrf: string | null) => void;

function message(e: unknown): string {
  return e instanceof ApiError ? e.message : "Something went wrong; try again.";
}

/**
 * One request at a time: on a slow connection a second Enter or click, while the first is on
 * its way, would sign in twice (two sessions, the page swapped under the user's hands). The
 * button stays focusable (aria-disabled, not disabled) so the focus is not lost meanwhile.
 */
function useOnce(): [boolean, (act: () => Promise<void>) => Promise<void>] {
  const [sending, setSending] = useState(false);
  const pending = useRef(false);
  const run = async (act: () => Promise<void>) => {
    if (pending.current) return;
    pending.current = true;
    setSending(true);
    try {
      await act();
    } finally {
      pending.current = false;
      setSending(false);
    }
  };
  return [sending, run];
}

/** `notice` says why the form is shown over a page (a session that ended mid-task). */
export function Login({ onDone, notice }: { onDone: Done; notice?: string }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sending, once] = useOnce();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return once(async () => {
      setError(null);
      try {
        const r = await api<{ user: User; csrf_token: string }>("POST", "/api/session", {
          login,
          password,
        });
        onDone(r.user, r.csrf_token);
      } catch (err) {
        setError(message(err));
      }
    });
  };
  return (
    <form className="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      {notice && <p role="status">{notice}</p>}
      <label>
        Login
        <input
          name="login"
          autoComplete="username"
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          required
          // biome-ignore lint/a11y/noAutofocus: over a page, the dialog must take the keyboard
          autoFocus={notice !== undefined}
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" aria-disabled={sending}>
        {sending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

export function Invite({ token, onDone }: { token: string; onDone: Done }) {
  const [info, setInfo] = useState<{ role: string; project_name: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [login, setLogin] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    api<{ role: string; project_name: string | null }>("GET", `/api/invitations/${token}`)
      .then(setInfo)
      .catch((e) => setError(message(e)));
  }, [token]);
  const [sending, once] = useOnce();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return once(async () => {
      setError(null);
      try {
        const r = await api<{ user: User; csrf_token: string }>(
          "POST",
          `/api/invitations/${token}/accept`,
          {
            login,
            password,
            ...(name ? { display_name: name } : {}),
          },
        );
        onDone(r.user, r.csrf_token);
      } catch (err) {
        setError(message(err));
      }
    });
  };
  return (
    <form className="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="invite-title">
      <h1 id="invite-title">Create your account</h1>
      {info && (
        <p>
          You are invited as <strong>{info.role}</strong>
          {info.project_name ? (
            <>
              {" "}
              to{" "}
              <strong>
                <bdi>{info.project_name}</bdi>
              </strong>
            </>
          ) : null}
          .
        </p>
      )}
      <label>
        Login
        <input
          name="login"
          autoComplete="username"
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          required
        />
      </label>
      <label>
        Display name (optional)
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Password (at least 10 characters)
        <input
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={!info} aria-disabled={sending}>
        {sending ? "Creating the account…" : "Create account"}
      </button>
    </form>
  );
}
