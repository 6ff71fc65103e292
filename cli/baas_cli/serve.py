"""``baas serve``: run the server in the foreground."""

from __future__ import annotations

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


def load(config_file: Path | None, **overrides: object) -> object:
    """The server settings, or exit 2 with the reason they are invalid."""
    settings_module = import_server("baas.settings")
    try:
        return settings_module.load_settings(config_file, **overrides)
    except settings_module.SettingsError as exc:
        fail(CliError(str(exc), EXIT_USAGE))


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
) -> None:
    """Run the baas server in the foreground until interrupted (Ctrl-C)."""
    settings = load(config, host=host, port=port, data_dir=data_dir)
    server = import_server("baas.server")
    server.serve(settings)
