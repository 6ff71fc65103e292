"""``baas login``, ``baas logout`` and ``baas whoami``: the stored admin session."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from baas_sdk import BaasError, Client, Unauthorized

from .config import ENV_TOKEN, ENV_URL, clear_token, config_path, load_config, save_config
from .errors import EXIT_AUTH, EXIT_USAGE, CliError, not_logged_in, reporting
from .output import JsonOpt, emit, say, table
from .session import is_expired

PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of stdin instead of prompting.",
    ),
]


def read_password(from_stdin: bool, *, confirm: bool = False) -> str:
    """One line of stdin, or a hidden prompt (typed twice when ``confirm``)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin", EXIT_USAGE)
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def login(
    url: Annotated[
        str | None,
        typer.Option(
            "--url", envvar=ENV_URL, show_default=False,
            help="Server URL, e.g. http://127.0.0.1:8080 (default: the last one used).",
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email", show_default=False,
            help="Admin email (default: the last one used).",
        ),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Sign in as a server admin and save the token in the per-user config file."""
    with reporting(url, email):
        stored = load_config()
        url = url or stored.get("url")
        email = email or stored.get("email")
        if not url or not email:
            raise CliError("missing --url or --email (nothing stored yet)", EXIT_USAGE)
        password = read_password(password_stdin)
        with Client(url) as client:
            try:
                token = client.admin.login(email, password)
            except Unauthorized as exc:  # wrong credentials, not an expired session
                raise CliError(exc.message, EXIT_AUTH) from None
        path = save_config(
            {**stored, "url": url, "email": email, "token": token.token,
             "expires_at": token.expires_at}
        )

    def human() -> None:
        say(f"Logged in to {url} as {email} until {token.expires_at}.", style="green")
        say(f"Token saved in {path}")

    emit({"url": url, "email": email, "expires_at": token.expires_at,
          "config_file": str(path)}, json_output, human)


def logout(json_output: JsonOpt = False) -> None:
    """Revoke the stored admin token on the server and forget it (URL and email are kept)."""
    with reporting():
        stored = load_config()
        revoked = False
        if stored.get("url") and stored.get("token") and not is_expired(stored.get("expires_at")):
            try:
                with Client(stored["url"], token=stored["token"]) as client:
                    client.admin.logout()
                revoked = True
            except BaasError:
                revoked = False  # server down or token already invalid: forget it anyway
        had = clear_token()
        path = config_path()
    if had:
        note = "revoked on the server" if revoked else "could not reach the server to revoke it"
        message = f"Logged out; token removed from {path} ({note})"
    else:
        message = "Not logged in; nothing to do."
    emit({"logged_out": had, "revoked_on_server": revoked, "config_file": str(path)},
         json_output, message)


def whoami(json_output: JsonOpt = False) -> None:
    """Show the server, admin email and token expiry of the stored login (no network)."""
    with reporting():
        stored = load_config()
        env_token = bool(os.environ.get(ENV_TOKEN))
        url = os.environ.get(ENV_URL) or stored.get("url")
        if not (env_token or stored.get("token")):
            raise not_logged_in(url)
    expires_at = None if env_token else stored.get("expires_at")
    info = {
        "url": url,
        "email": None if env_token else stored.get("email"),
        "expires_at": expires_at,
        "expired": is_expired(expires_at),
        "token_source": ENV_TOKEN if env_token else str(config_path()),
    }

    def human() -> None:
        table(None, ["", ""], [
            ["url", info["url"]],
            ["email", info["email"]],
            ["expires_at", info["expires_at"]],
            ["token from", info["token_source"]],
        ])
        if info["expired"]:
            say(f"The token has expired: run `baas login --url {url} --email ...`",
                style="yellow")

    emit(info, json_output, human)
