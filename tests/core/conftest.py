"""Fixtures of the core tests: a Platform opened on the engine under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from baas.core.platform import Platform
from baas.settings import Settings


@asynccontextmanager
async def opened_platform(settings: Settings, **overrides: object) -> AsyncIterator[Platform]:
    """A Platform without its background tasks; on MongoDB its databases are dropped
    afterwards (the stand-in is shared by the session)."""
    platform = Platform(settings.model_copy(update=overrides) if overrides else settings)
    await platform.open(background=False)
    try:
        yield platform
    finally:
        if platform.engine.kind == "mongodb":
            for name in await platform.engine.databases():
                await platform.engine.drop_database(name)
        await platform.close()
