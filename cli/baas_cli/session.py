"""An authenticated admin client for the HTTP commands, from the stored login,
``--url`` and ``$BAAS_CLI_TOKEN``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import typer
from baas_sdk import AdminClient, Client

from .config import ENV_TOKEN, ENV_URL, load_config
from .errors import EXIT_AUTH, CliError, login_hint, not_logged_in, reporting

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=ENV_URL,
        help="Server URL, e.g. http://127.0.0.1:8080 (default: the one from `baas login`).",
        show_default=False,
    ),
]


def parse_time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def is_expired(expires_at: str | None) -> bool:
    when = parse_time(expires_at) if expires_at else None
    return when is not None and when <= datetime.now(UTC)


@contextlib.contextmanager
def admin_session(url: str | None = None) -> Iterator[AdminClient]:
    """Yield an admin client; any failure becomes a one-line message and exit code."""
    config: dict[str, str] = {}
    base: str | None = url
    with reporting(url):
        config = load_config()
        base = url or config.get("url")
        env_token = os.environ.get(ENV_TOKEN)
        token = env_token or config.get("token")
        if not base or not token:
            raise not_logged_in(base)
        if not env_token and is_expired(config.get("expires_at")):
            raise CliError(
                f"your session expired at {config['expires_at']}: run "
                f"`{login_hint(base, config.get('email'))}`",
                EXIT_AUTH,
            )
    with reporting(base, config.get("email")), Client(base, token=token) as client:
        yield client.admin
