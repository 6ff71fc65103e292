"""The ``baas`` command: the root app, its sub-apps, and the ``main()`` entry point."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from baas_sdk import BaasError

from . import __version__, admin, keys, login, projects, rules, serve, users
from . import collections as collections_cli
from .errors import describe

app = typer.Typer(
    name="baas",
    help="Run and administer a baas server (Backend-as-a-Service).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("serve")(serve.serve)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("whoami")(login.whoami)
app.add_typer(admin.app, name="admin")
app.add_typer(projects.app, name="projects")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(collections_cli.app, name="collections")
app.add_typer(rules.app, name="rules")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baas {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
) -> None:
    """Run and administer a baas server (Backend-as-a-Service)."""


def main() -> None:
    """Console-script entry: commands report their own errors; this is the last net."""
    try:
        app()
    except BaasError as exc:
        error = describe(exc)
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(error.code)
    except Exception as exc:
        if os.environ.get("BAAS_CLI_DEBUG"):
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc} "
                  "(set BAAS_CLI_DEBUG=1 for details)", file=sys.stderr)
        sys.exit(70)  # EX_SOFTWARE


if __name__ == "__main__":
    main()
