/** `keel users add|set|invite|list`: manage who may use the collection server. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { ROLES, type Role } from "../../store/collection/schema.js";
import { addDbOption, addOutputOptions, numberArg, oneOf } from "../common.js";
import type { CommandModule } from "../registry.js";

export interface UsersAddFlags {
  db: string;
  role: Role;
  name?: string;
  passwordStdin?: boolean;
  token?: string;
  project?: string[];
  json?: boolean;
}

export interface UsersSetFlags {
  db: string;
  role?: Role;
  name?: string;
  disable?: boolean;
  enable?: boolean;
  passwordStdin?: boolean;
  json?: boolean;
}

export interface InviteFlags {
  db: string;
  role: Role;
  project?: string;
  hours: number;
  baseUrl: string;
  json?: boolean;
}

export interface UsersListFlags {
  db: string;
  json?: boolean;
}

/** The longest an invitation may last: the admin API's limit (90 days). */
const MAX_INVITE_HOURS = 24 * 90;

function inviteHours(v: string): number {
  const n = numberArg(v);
  if (!(n > 0 && n <= MAX_INVITE_HOURS))
    throw new KeelError(
      "KEEL_E_USAGE",
      `--hours must be a number of hours > 0 and ≤ ${MAX_INVITE_HOURS} (90 days), got ${JSON.stringify(v)}`,
    );
  return n;
}

function list(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(",").filter((x) => x !== "")];
}

export const usersCommand: CommandModule = {
  name: "users",
  register(program: Command) {
    const users = program
      .command("users")
      .description("create, invite and list users of the collection server");

    const add = users
      .command("add")
      .argument("<login>", "login name")
      .description("create a user")
      .requiredOption("--role <role>", `one of ${ROLES.join(", ")}`, oneOf("--role", ROLES))
      .option("--name <display name>", "display name (default: the login)")
      .option("--password-stdin", "read the password from standard input (at least 10 characters)")
      .option("--token <name>", "also create an API token with this name and print it (shown once)")
      .option("--project <id>", "add to this project (repeatable, or comma-separated)", list);
    addOutputOptions(addDbOption(add)).action(async (login: string, o: UsersAddFlags) => {
      const { runAdd } = await import("../actions/users.js");
      await runAdd(login, o);
    });

    const set = users
      .command("set")
      .argument("<login>", "login name")
      .description(
        "change a user's role or display name, disable or re-enable them, or set a new password; disabling or a new password signs them out everywhere",
      )
      .option("--role <role>", `one of ${ROLES.join(", ")}`, oneOf("--role", ROLES))
      .option("--name <display name>", "display name")
      .option("--disable", "refuse their sign-in and API tokens from now on")
      .option("--enable", "let a disabled user in again")
      .option(
        "--password-stdin",
        "read a new password from standard input (at least 10 characters)",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  keel users set mallory --disable\n  echo 'a new long password' | keel users set olga --password-stdin",
      );
    addOutputOptions(addDbOption(set)).action(async (login: string, o: UsersSetFlags) => {
      const { runSet } = await import("../actions/users.js");
      await runSet(login, o);
    });

    const invite = users
      .command("invite")
      .description("create a one-time invitation link")
      .requiredOption("--role <role>", `one of ${ROLES.join(", ")}`, oneOf("--role", ROLES))
      .option("--project <id>", "the invitee joins this project")
      .option(
        "--hours <n>",
        `hours until the link expires (at most ${MAX_INVITE_HOURS})`,
        inviteHours,
        72,
      )
      .option("--base-url <url>", "where the server is reached", "http://127.0.0.1:8080");
    addOutputOptions(addDbOption(invite)).action(async (o: InviteFlags) => {
      const { runInvite } = await import("../actions/users.js");
      await runInvite(o);
    });

    const ls = users.command("list").description("list users");
    addOutputOptions(addDbOption(ls)).action(async (o: UsersListFlags) => {
      const { runList } = await import("../actions/users.js");
      await runList(o);
    });
  },
};
