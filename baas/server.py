"""`baas serve`: the start-up banner and uvicorn."""

from __future__ import annotations

import logging
import os
import signal
import sys

import uvicorn

from baas import logs
from baas.app import create_app
from baas.core.mail import Mailer
from baas.settings import Settings, unknown_env


def banner(settings: Settings) -> str:
    if settings.engine == "sqlite":
        where = f"SQLite files under {settings.data_dir.resolve() / 'db'}"
    else:
        where = f"MongoDB ({settings.mongodb_url.split('@')[-1] if settings.mongodb_url else ''})"
    lines = [
        f"baas is starting on {settings.base_url}",
        f"  engine:    {settings.engine}",
        f"  data:      {where}",
        f"  mail:      {Mailer(settings).describe()}",
        f"  API docs:  {settings.base_url}/docs",
        "  next:      baas admin create --email you@example.com   (once)",
        f"             baas login --url {settings.base_url} --email you@example.com",
        "             baas projects create demo",
    ]
    for name in unknown_env():
        lines.append(f"  warning:   {name} is not a known setting (see docs/configuration.md)")
    return "\n".join(lines)


def serve(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)
    print(banner(settings), file=sys.stderr, flush=True)
    os.makedirs(settings.data_dir, exist_ok=True)
    app = create_app(settings)
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
    # these handlers turn that into a normal exit (status 0) instead of a kill.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # our middleware logs every request with its id
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    logging.getLogger("baas.server").info("stopped cleanly", extra={"data": where_data(settings)})


def where_data(settings: Settings) -> str:
    return str(settings.data_dir.resolve()) if settings.engine == "sqlite" else "mongodb"
