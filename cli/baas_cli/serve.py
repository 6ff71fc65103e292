"""``baas serve``: run the server in the foreground."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .errors import EXIT_USAGE, CliError, fail
from .server_imports import import_server

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", show_default=False, dir_okay=False,
        help="TOML settings file (default: $BAAS_CONFIG_FILE). Environment variables "
        "BAAS_* override it, and flags override both.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", show_default=False, file_okay=False,
        help="Folder for databases, secrets and local files (default: ./baas-data).",
    ),
]


class Loop(StrEnum):
    auto = "auto"
    asyncio = "asyncio"
    uvloop = "uvloop"


class Http(StrEnum):
    auto = "auto"
    h11 = "h11"
    httptools = "httptools"


def load(config_file: Path | None, **overrides: object) -> object:
    """The server settings, or exit 2 with the reason they are invalid."""
    settings_module = import_server("baas.settings")
    try:
        return settings_module.load_settings(config_file, **overrides)
    except settings_module.SettingsError as exc:
        fail(CliError(str(exc), EXIT_USAGE))


def worker_env(config_file: Path | None, overrides: dict[str, object]) -> dict[str, str]:
    """The BAAS_* variables that give worker processes, which load their settings
    themselves, what the flags gave this one (flags carry no secrets)."""
    env = {f"BAAS_{name.upper()}": str(Path(str(value)).resolve() if name == "data_dir" else value)
           for name, value in overrides.items() if value is not None}
    if config_file is not None:
        env["BAAS_CONFIG_FILE"] = str(config_file.resolve())
    return env


def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", show_default=False,
                     help="Interface to listen on (default: 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", show_default=False, min=1, max=65535,
                     help="TCP port to listen on (default: 8080)."),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", show_default=False, min=1, max=64,
                     help="Worker processes sharing the port and the data folder "
                     "(default: 1)."),
    ] = None,
    loop: Annotated[
        Loop | None,
        typer.Option("--loop", show_default=False,
                     help="Event loop (default: auto, uvloop when installed)."),
    ] = None,
    http: Annotated[
        Http | None,
        typer.Option("--http", show_default=False,
                     help="HTTP/1.1 parser (default: auto, httptools when installed)."),
    ] = None,
) -> None:
    """Run the baas server in the foreground until interrupted (Ctrl-C)."""
    overrides: dict[str, object] = {
        "host": host, "port": port, "data_dir": data_dir, "workers": workers,
        "loop": loop.value if loop else None, "http": http.value if http else None,
    }
    settings = load(config, **overrides)
    server = import_server("baas.server")
    settings_module = import_server("baas.settings")
    try:
        server.serve(settings, worker_env=worker_env(config, overrides))
    except settings_module.SettingsError as exc:
        fail(CliError(str(exc), EXIT_USAGE))
