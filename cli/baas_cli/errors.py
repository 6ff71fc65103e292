"""How the CLI reports failures: one line on stderr and a meaningful exit code, never
a traceback. SDK errors are translated here and nowhere else."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from baas_sdk import APIError, BaasError, ConnectError, TransportError, Unauthorized

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNREACHABLE = 4


class CliError(Exception):
    """A failure with a message for the user and the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def login_hint(url: str | None = None, email: str | None = None) -> str:
    return f"baas login --url {url or '...'} --email {email or '...'}"


def not_logged_in(url: str | None = None) -> CliError:
    return CliError(f"not logged in: run `{login_hint(url)}`", EXIT_AUTH)


def describe(exc: BaasError, url: str | None = None, email: str | None = None) -> CliError:
    """The message and exit code for an SDK error."""
    if isinstance(exc, ConnectError):
        return CliError(
            f"cannot reach the server at {exc.url}: is `baas serve` running?", EXIT_UNREACHABLE
        )
    if isinstance(exc, TransportError):
        return CliError(str(exc), EXIT_UNREACHABLE)
    if isinstance(exc, Unauthorized):
        return CliError(
            f"{exc.message}: your session may have expired; run `{login_hint(url, email)}`",
            EXIT_AUTH,
        )
    if isinstance(exc, APIError):
        return CliError(exc.message, EXIT_ERROR)
    return CliError(str(exc), EXIT_ERROR)


def fail(error: CliError) -> NoReturn:
    typer.echo(f"error: {error.message}", err=True)
    raise typer.Exit(error.code)


@contextlib.contextmanager
def reporting(url: str | None = None, email: str | None = None) -> Iterator[None]:
    """Turn CliError and any SDK error raised inside into a message and exit code."""
    try:
        yield
    except CliError as exc:
        fail(exc)
    except BaasError as exc:
        fail(describe(exc, url, email))
