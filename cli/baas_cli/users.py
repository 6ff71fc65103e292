"""``baas users``: list, create, show, update, disable, enable and delete a project's
end users (``/v1/projects/{project}/users``, with the stored admin token)."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any

import typer
from baas_sdk import User, Users

from .errors import EXIT_ERROR, EXIT_USAGE, CliError, reporting
from .keys import ProjectOpt
from .login import PasswordStdinOpt, read_password
from .output import JsonOpt, YesOpt, emit, err_console, user_details, users_table, warn
from .session import UrlOpt, admin_session

app = typer.Typer(
    help="Manage a project's end users: list, create, show, update, disable, enable, delete.",
    no_args_is_help=True,
)

PAGE_SIZE = 200

UserArg = Annotated[
    str,
    typer.Argument(metavar="USER", show_default=False,
                   help="The user's id (usr_...) or email address."),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option("--password", show_default=False,
                 help="The password on the command line (visible in shell history and the "
                      "process list: prefer the prompt or --password-stdin)."),
]


def _parse_data(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise typer.BadParameter('expected a JSON object, e.g. \'{"name": "Ada"}\'')
    return data


def _check_data(value: str | None) -> str | None:
    _parse_data(value)  # a usage error (exit 2) before anything else happens
    return value


DataOpt = Annotated[
    str | None,
    typer.Option("--data", callback=_check_data, show_default=False, metavar="JSON",
                 help='Custom user data as a JSON object, e.g. \'{"name": "Ada"}\'.'),
]


def _check_sources(given: str | None, from_stdin: bool, prompt: bool) -> None:
    """Usage errors first, before any prompt or request."""
    if sum([given is not None, from_stdin, prompt]) > 1:
        raise CliError("give the password one way only (--password, --password-stdin or the "
                       "prompt)", EXIT_USAGE)
    if given is not None and not given:
        raise CliError("--password is empty", EXIT_USAGE)


def _password(given: str | None, from_stdin: bool, prompt: bool) -> str | None:
    """The password from its one source (``None`` when none was asked for)."""
    if given is not None:
        return given
    if from_stdin:
        return read_password(True)
    if prompt:
        # On stderr, so that `--json` output on stdout stays pure JSON.
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    return None


def resolve(users: Users, ref: str) -> str:
    """The id of the user named by id, or by email (an exact, case-insensitive match)."""
    if "@" not in ref:
        return ref
    wanted = ref.strip().lower()
    for user in users.list(email=wanted):
        if (user.email or "").lower() == wanted:
            return user.id
    raise CliError(f"no user with email {ref} in project {users.project}", EXIT_ERROR)


def fetch(users: Users, limit: int | None, page_size: int,
          **filters: Any) -> tuple[list[User], bool]:
    """Up to ``limit`` users (all when ``None``), and whether more are left on the server.
    A spinner on stderr counts the users fetched once there is more than one page."""
    found: list[User] = []
    cursor: str | None = None
    with contextlib.ExitStack() as stack:
        status = None
        while True:
            size = page_size if limit is None else min(page_size, limit - len(found))
            page = users.page(cursor, limit=size, **filters)
            found.extend(page.items)
            more = bool(page.next_cursor) and page.next_cursor != cursor
            if not more or (limit is not None and len(found) >= limit):
                return found, more
            if status is None:
                status = stack.enter_context(err_console.status("Fetching users..."))
            status.update(f"Fetching users... {len(found)} so far")
            cursor = page.next_cursor


@app.command("list")
def list_users(
    project: ProjectOpt,
    email: Annotated[
        str | None,
        typer.Option("--email", show_default=False, metavar="PREFIX",
                     help="Only users whose email starts with PREFIX."),
    ] = None,
    disabled: Annotated[
        bool | None,
        typer.Option("--disabled/--enabled", show_default=False,
                     help="Only disabled users, or only enabled ones (default: both)."),
    ] = None,
    anonymous: Annotated[
        bool | None,
        typer.Option("--anonymous/--registered", show_default=False,
                     help="Only anonymous users, or only ones with an email (default: both)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, show_default=False,
                     help="Show at most this many users, oldest first (default: all)."),
    ] = None,
    page_size: Annotated[
        int,
        typer.Option("--page-size", min=1, max=1000, help="Users fetched per request."),
    ] = PAGE_SIZE,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """List a project's users, oldest first, fetching every page (or up to --limit)."""
    with admin_session(url) as admin:
        users, more = fetch(admin.users(project), limit, page_size, email=email,
                            disabled=disabled, anonymous=anonymous)

    def human() -> None:
        users_table(users)
        if more:
            warn(f"Showing the first {len(users)} users; raise --limit to see more.")

    filtered = email is not None or disabled is not None or anonymous is not None
    emit(users, json_output, human,
         empty=f"No {'matching ' if filtered else ''}users in project {project}.")


@app.command("create")
def create(
    project: ProjectOpt,
    email: Annotated[
        str, typer.Option("--email", show_default=False, help="The user's email address.")
    ],
    password: PasswordOpt = None,
    password_stdin: PasswordStdinOpt = False,
    no_password: Annotated[
        bool,
        typer.Option("--no-password",
                     help="Create the user without a password (they can set one through "
                          "the forgot-password email)."),
    ] = False,
    verified: Annotated[
        bool, typer.Option("--verified", help="Mark the email address as already verified.")
    ] = False,
    data: DataOpt = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create a user; the password is prompted twice unless given another way."""
    with reporting():
        if no_password and (password is not None or password_stdin):
            raise CliError("--no-password excludes --password and --password-stdin", EXIT_USAGE)
        _check_sources(password, password_stdin, False)
    prompt = not no_password and password is None and not password_stdin
    with admin_session(url) as admin:
        secret = _password(password, password_stdin, prompt)
        user = admin.users(project).create(email, secret, data=_parse_data(data),
                                           email_verified=verified or None)
    emit(user, json_output, f"Created user {user.id} ({user.email}) in project {project}.",
         style="green")


@app.command("show")
def show(project: ProjectOpt, user: UserArg, url: UrlOpt = None,
         json_output: JsonOpt = False) -> None:
    """Show one user, with their custom data."""
    with admin_session(url) as admin:
        users = admin.users(project)
        found = users.get(resolve(users, user))
    emit(found, json_output, lambda: user_details(found))


@app.command("update")
def update(
    project: ProjectOpt,
    user: UserArg,
    email: Annotated[
        str | None,
        typer.Option("--email", show_default=False,
                     help="A new email address (it counts as unverified unless --verified)."),
    ] = None,
    password: PasswordOpt = None,
    password_stdin: PasswordStdinOpt = False,
    password_prompt: Annotated[
        bool, typer.Option("--password-prompt", help="Prompt (twice) for a new password.")
    ] = False,
    verified: Annotated[
        bool | None,
        typer.Option("--verified/--unverified", show_default=False,
                     help="Mark the email address verified, or not verified."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", callback=_check_data, show_default=False, metavar="JSON",
                     help="A JSON object merged into the user's custom data; a key set to "
                          "null is removed."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Change a user's email, password, verified flag or custom data."""
    with reporting():
        if (email is None and password is None and not password_stdin and not password_prompt
                and verified is None and data is None):
            raise CliError("nothing to change: give --email, --password, --password-stdin, "
                           "--password-prompt, --verified/--unverified or --data", EXIT_USAGE)
        _check_sources(password, password_stdin, password_prompt)
    with admin_session(url) as admin:
        secret = _password(password, password_stdin, password_prompt)
        users = admin.users(project)
        changed = users.update(resolve(users, user), email=email, password=secret,
                               data=_parse_data(data), email_verified=verified)
    emit(changed, json_output, f"Updated user {changed.id} ({changed.email or 'anonymous'}).",
         style="green")


def _set_disabled(project: str, user: str, url: str | None, disabled: bool) -> User:
    with admin_session(url) as admin:
        users = admin.users(project)
        return users.update(resolve(users, user), disabled=disabled)


@app.command("disable")
def disable(project: ProjectOpt, user: UserArg, url: UrlOpt = None,
            json_output: JsonOpt = False) -> None:
    """Disable a user: their sessions end and they cannot sign in until enabled."""
    changed = _set_disabled(project, user, url, True)
    emit(changed, json_output, f"Disabled user {changed.id} ({changed.email or 'anonymous'}); "
         "their sessions were ended.")


@app.command("enable")
def enable(project: ProjectOpt, user: UserArg, url: UrlOpt = None,
           json_output: JsonOpt = False) -> None:
    """Enable a disabled user again: they can sign in."""
    changed = _set_disabled(project, user, url, False)
    emit(changed, json_output, f"Enabled user {changed.id} ({changed.email or 'anonymous'}).")


@app.command("delete")
def delete(
    project: ProjectOpt,
    user: UserArg,
    yes: YesOpt = False,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Delete a user and end their sessions. This cannot be undone."""
    if not yes:
        typer.confirm(f"Delete user '{user}' of project '{project}'? This cannot be undone",
                      abort=True)
    with admin_session(url) as admin:
        users = admin.users(project)
        user_id = resolve(users, user)
        users.delete(user_id)
    emit({"deleted": user_id}, json_output, f"Deleted user {user_id} from project {project}.")
