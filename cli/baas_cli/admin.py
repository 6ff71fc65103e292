"""``baas admin``: manage server administrators directly in the data directory
(no running server needed)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .errors import EXIT_ERROR, CliError, fail, reporting
from .login import PasswordStdinOpt, read_password
from .output import JsonOpt, emit, say
from .serve import ConfigOpt, DataDirOpt, load
from .server_imports import import_server

app = typer.Typer(
    help="Manage server administrators (works on the data directory; no server needed).",
    no_args_is_help=True,
)


@app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="Email the admin signs in with.")],
    password_stdin: PasswordStdinOpt = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create an admin account; the password is prompted twice unless --password-stdin."""
    settings = load(config, data_dir=data_dir)
    # Import before prompting: a broken install should fail before the password is typed.
    server = import_server("baas.server")
    with reporting():
        password = read_password(password_stdin, confirm=True)
    try:
        admin: dict[str, Any] = server.create_admin(settings, email, password)
    except server.AdminRefused as exc:
        fail(CliError(str(exc), EXIT_ERROR))

    def human() -> None:
        say(f"Created admin {admin['email']} (id {admin['id']}).", style="green")
        say("Sign in with: baas login --url URL --email " + str(admin["email"]))

    emit(admin, json_output, human)
