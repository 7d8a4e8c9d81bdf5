/** `keel users add|set|invite|list`'s actions over the collection tables. */
import { KeelError } from "../../core/errors.js";
import { hashPassword } from "../../server/auth/password.js";
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

/** A password from standard input, refused when shorter than 10 characters. */
async function passwordFromStdin(): Promise<string> {
  const password = await readStdin();
  if (password.length < 10)
    throw new KeelError("KEEL_E_USAGE", "the password must be at least 10 characters");
  return password;
}

export async function runAdd(login: string, o: UsersAddFlags): Promise<void> {
  const password = o.passwordStdin ? await passwordFromStdin() : undefined;
  const out = await withStore(
    o.db,
    async (store) => {
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
          ...(o.name ? { display_name: o.name } : {}),
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
    },
    { create: true },
  );
  if (o.json) printJson(out);
  else {
    printLine(`created ${out.role} ${out.login} (${out.user_id})`);
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
      ...(o.name ? { display_name: o.name } : {}),
      ...(o.disable ? { disabled: true } : o.enable ? { disabled: false } : {}),
      ...(password ? { password_hash: await hashPassword(password) } : {}),
    });
    // A disabled user, or one whose password changed, keeps no session anywhere.
    const signedOut = Boolean(o.disable || password);
    if (signedOut) await deleteUserSessions(db, after.user_id);
    const changed: string[] = [];
    if (before.role !== after.role) changed.push(`role: ${before.role} → ${after.role}`);
    if (before.display_name !== after.display_name)
      changed.push(
        `name: ${JSON.stringify(before.display_name)} → ${JSON.stringify(after.display_name)}`,
      );
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
    printLine(`${login}: ${out.changed.length > 0 ? out.changed.join(", ") : "nothing changed"}`);
    if (out.signed_out)
      printLine(
        out.disabled
          ? "their sessions were ended; their API tokens are refused while they are disabled"
          : "their sessions were ended; their API tokens still work",
      );
  }
}

export async function runInvite(o: InviteFlags): Promise<void> {
  const hours = Number(o.hours);
  if (!(hours > 0))
    throw new KeelError(
      "KEEL_E_USAGE",
      `--hours must be a positive number, got ${JSON.stringify(o.hours)}`,
    );
  const out = await withStore(o.db, async (store) => {
    const db = collectionDb(store);
    if (o.project && !(await getProject(db, o.project))) {
      throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(o.project)}`);
    }
    const { token, invitation } = await createInvitation(
      db,
      { role: o.role, project_id: o.project ?? null, created_by: null },
      new Date(),
      hours * 3600_000,
    );
    return { ...invitation, url: `${o.baseUrl.replace(/\/$/, "")}/invite/${token}` };
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
          u.login,
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
