"""The per-user CLI config: where the server is and the admin token to reach it.

Location: ``$BAAS_CLI_CONFIG``, else ``$XDG_CONFIG_HOME/baas/config.json``, else
``~/.config/baas/config.json``. It holds a bearer token, so it is written atomically
and only ever readable by its owner (0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import CliError

ENV_CONFIG = "BAAS_CLI_CONFIG"
ENV_TOKEN = "BAAS_CLI_TOKEN"  # noqa: S105 - the variable name, not a token
ENV_URL = "BAAS_CLI_URL"


def config_path() -> Path:
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "baas" / "config.json"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The stored config, or ``{}`` when there is none yet."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise CliError(f"{path} is not valid JSON: fix or delete it") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a JSON object: fix or delete it")
    return data


def save_config(data: dict[str, Any], path: Path | None = None) -> Path:
    """Replace the config atomically; the file is created 0600, never wider."""
    path = path or config_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600 with O_EXCL, so the token is never world-readable,
        # not even for the instant before a chmod.
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.chmod(path, 0o600)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    return path


def clear_token(path: Path | None = None) -> bool:
    """Forget the stored token (keeping url and email); True when there was one."""
    path = path or config_path()
    data = load_config(path)
    had = "token" in data
    if had:
        data.pop("token", None)
        data.pop("expires_at", None)
        save_config(data, path)
    return had
