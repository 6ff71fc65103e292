"""Lazy imports of the server package, so `baas --help` and the HTTP commands stay
fast and work with only the SDK installed."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import EXIT_USAGE, CliError, fail


def import_server(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only a missing baas module means "server not installed"; anything else is a bug.
        if exc.name and (exc.name == "baas" or exc.name.startswith("baas.")):
            fail(CliError(
                f"this command needs the baas server package (cannot import {exc.name})",
                EXIT_USAGE,
            ))
        raise
