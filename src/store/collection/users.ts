/** Users: login, display name, one role, an optional scrypt password hash. */
import { KeelError } from "../../core/errors.js";
import type { CollectionDb, Role, UsersTable } from "./schema.js";
import { byCodeUnits, isUniqueViolation, newId } from "./util.js";

export type User = Omit<UsersTable, "disabled"> & { readonly disabled: boolean };

export interface NewUser {
  readonly login: string;
  readonly display_name?: string;
  readonly role: Role;
  readonly password_hash?: string | null;
}

function toUser(r: UsersTable): User {
  return { ...r, disabled: r.disabled === 1 };
}

export async function createUser(db: CollectionDb, u: NewUser, now: Date): Promise<User> {
  const row: UsersTable = {
    user_id: newId("u"),
    login: u.login,
    display_name: u.display_name ?? u.login,
    role: u.role,
    password_hash: u.password_hash ?? null,
    disabled: 0,
    created_at: now.toISOString(),
  };
  try {
    await db.insertInto("users").values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new KeelError(
        "KEEL_E_DUPLICATE",
        `a user with login ${JSON.stringify(u.login)} exists`,
        {
          where: { field: "login" },
          hint: "choose another login",
        },
      );
    }
    throw e;
  }
  return toUser(row);
}

export async function getUser(db: CollectionDb, userId: string): Promise<User | undefined> {
  const r = await db
    .selectFrom("users")
    .selectAll()
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return r ? toUser(r) : undefined;
}

export async function getUserByLogin(db: CollectionDb, login: string): Promise<User | undefined> {
  const r = await db.selectFrom("users").selectAll().where("login", "=", login).executeTakeFirst();
  return r ? toUser(r) : undefined;
}

export async function listUsers(db: CollectionDb): Promise<User[]> {
  // Oldest first, then by login in code-unit order on both dialects (see byCodeUnits).
  const rows = await db.selectFrom("users").selectAll().execute();
  rows.sort((x, y) => byCodeUnits(x.created_at, y.created_at) || byCodeUnits(x.login, y.login));
  return rows.map(toUser);
}

export async function countUsers(db: CollectionDb): Promise<number> {
  const r = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function updateUser(
  db: CollectionDb,
  userId: string,
  patch: { role?: Role; disabled?: boolean; password_hash?: string; display_name?: string },
): Promise<User> {
  const set: Partial<UsersTable> = {};
  if (patch.role !== undefined) set.role = patch.role;
  if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
  if (patch.password_hash !== undefined) set.password_hash = patch.password_hash;
  if (patch.display_name !== undefined) set.display_name = patch.display_name;
  if (Object.keys(set).length > 0) {
    await db.updateTable("users").set(set).where("user_id", "=", userId).execute();
  }
  const u = await getUser(db, userId);
  if (!u) throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(userId)}`);
  return u;
}
