/** `keel users add|set|invite|list`'s actions over the collection tables. */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
import { hashPassword } from "../../server/auth/password.js";
import { Login, Password } from "../../server/routes/wire.js";
import {
  addMembers,
  collectionDb,
  createApiToken,
  createInvitation,
  createUser,
  deleteUserSessions,
  getProject,
  getUserByLogin,
  listUsers,
  updateUser,
} from "../../store/collection/index.js";
import type {
  InviteFlags,
  UsersAddFlags,
  UsersListFlags,
  UsersSetFlags,
} from "../commands/users.js";
import { formatTable, printJson, printLine } from "../output.js";
import { withStore } from "./with-store.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/**
 * A value checked by the API's own schema, so that the CLI makes no user the server would
 * refuse to create or let sign in (a login of one letter or with spaces, a password past the
 * sign-in form's 256 characters); the error names `what`.
 */
function asTheApiWould<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new KeelError("KEEL_E_USAGE", `${what}: ${parsed.error.issues[0]!.message}`);
}

/** A password from standard input, refused when the server's sign-in would refuse it. */
async function passwordFromStdin(): Promise<string> {
  // On a terminal the password would be echoed as it is typed, and the command would wait for
  // an end of input nobody is told to give.
  if (process.stdin.isTTY)
    throw new KeelError("KEEL_E_USAGE", "--password-stdin reads a pipe, not a terminal", {
      hint: "printf '%s' \"$PASSWORD\" | keel users add … --password-stdin (or use an invitation: keel users invite)",
    });
  const password = await readStdin();
  return asTheApiWould(Password, password, "the password (from standard input)");
}

/** A display name as the API's user routes take it (src/server/routes/users.ts). */
const DisplayName = z.string().min(1).max(100);

/** `--name`, checked as the API checks a display name. */
function displayName(name: string | undefined): string | undefined {
  return name === undefined ? undefined : asTheApiWould(DisplayName, name, "--name");
}

/** Logins and names come from the store, where another tool may have put anything. */
const shown = (text: string) => printable(JSON.stringify(text));

export async function runAdd(login: string, o: UsersAddFlags): Promise<void> {
  asTheApiWould(Login, login, `login ${shown(login)}`);
  const name = displayName(o.name);
  const password = o.passwordStdin ? await passwordFromStdin() : undefined;
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    for (const p of o.project ?? []) {
      if (!(await getProject(db, p)))
        throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(p)}`);
    }
    const u = await createUser(
      db,
      {
        login,
        role: o.role,
        ...(name ? { display_name: name } : {}),
        password_hash: password ? await hashPassword(password) : null,
      },
      new Date(),
    );
    for (const p of o.project ?? []) await addMembers(db, p, [u.user_id], new Date());
    const token = o.token
      ? (await createApiToken(db, u.user_id, o.token, new Date())).token
      : undefined;
    return {
      user_id: u.user_id,
      login: u.login,
      role: u.role,
      ...(token ? { token } : {}),
    };
  });
  if (o.json) printJson(out);
  else {
    printLine(`created ${out.role} ${printable(out.login)} (${out.user_id})`);
    if (out.token) printLine(`API token (shown once): ${out.token}`);
    if (!password && !out.token)
      printLine("no password set: invite them instead, or sign in with an API token");
  }
}

/** Changes a user's role, name, status or password; prints what changed. */
export async function runSet(login: string, o: UsersSetFlags): Promise<void> {
  if (o.disable && o.enable)
    throw new KeelError("KEEL_E_USAGE", "give --disable or --enable, not both");
  if (!o.role && !o.name && !o.disable && !o.enable && !o.passwordStdin)
    throw new KeelError(
      "KEEL_E_USAGE",
      "nothing to change: give --role, --name, --disable, --enable or --password-stdin",
    );
  const name = displayName(o.name);
  const password = o.passwordStdin ? await passwordFromStdin() : undefined;
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    const before = await getUserByLogin(db, login);
    if (!before)
      throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(login)}`, {
        hint: "keel users list shows the store's users",
      });
    const after = await updateUser(db, before.user_id, {
      ...(o.role ? { role: o.role } : {}),
      ...(name ? { display_name: name } : {}),
      ...(o.disable ? { disabled: true } : o.enable ? { disabled: false } : {}),
      ...(password ? { password_hash: await hashPassword(password) } : {}),
    });
    // A disabled user, or one whose password changed, keeps no session anywhere.
    const signedOut = Boolean(o.disable || password);
    if (signedOut) await deleteUserSessions(db, after.user_id);
    const changed: string[] = [];
    if (before.role !== after.role) changed.push(`role: ${before.role} → ${after.role}`);
    if (before.display_name !== after.display_name)
      changed.push(`name: ${shown(before.display_name)} → ${shown(after.display_name)}`);
    if (before.disabled !== after.disabled) changed.push(after.disabled ? "disabled" : "enabled");
    if (password) changed.push("password set");
    return {
      user_id: after.user_id,
      login,
      role: after.role,
      disabled: after.disabled,
      changed,
      signed_out: signedOut,
    };
  });
  if (o.json) printJson(out);
  else {
    printLine(
      `${printable(login)}: ${out.changed.length > 0 ? out.changed.join(", ") : "nothing changed"}`,
    );
    if (out.signed_out)
      printLine(
        out.disabled
          ? "their sessions were ended; their API tokens are refused while they are disabled"
          : "their sessions were ended; their API tokens still work",
      );
  }
}

/** `--base-url` without its trailing slash; anything but an http(s) URL makes a dead link. */
function baseUrl(raw: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {
    u = undefined;
  }
  if (u?.protocol !== "http:" && u?.protocol !== "https:")
    throw new KeelError(
      "KEEL_E_USAGE",
      `--base-url must be an http(s) URL, got ${JSON.stringify(raw)}`,
      { hint: "where raters reach keel serve, e.g. https://feedback.example.org" },
    );
  return raw.replace(/\/+$/, "");
}

export async function runInvite(o: InviteFlags): Promise<void> {
  const base = baseUrl(o.baseUrl);
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    if (o.project && !(await getProject(db, o.project))) {
      throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(o.project)}`);
    }
    const { token, invitation } = await createInvitation(
      db,
      { role: o.role, project_id: o.project ?? null, created_by: null },
      new Date(),
      o.hours * 3600_000,
    );
    return { ...invitation, url: `${base}/invite/${token}` };
  });
  if (o.json) printJson(out);
  else printLine(out.url);
}

export async function runList(o: UsersListFlags): Promise<void> {
  const all = await withStore(o.db, (store) => listUsers(collectionDb(store)));
  if (o.json)
    printJson(
      all.map(({ password_hash, ...u }) => ({ ...u, has_password: password_hash !== null })),
    );
  else {
    printLine(
      formatTable(
        ["login", "role", "user id", "password", "disabled", "created"],
        all.map((u) => [
          printable(u.login),
          u.role,
          u.user_id,
          u.password_hash ? "yes" : "no",
          u.disabled ? "yes" : "",
          u.created_at,
        ]),
      ),
    );
  }
}
