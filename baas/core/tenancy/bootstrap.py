"""Work done straight on the store, with or without a running server."""

from __future__ import annotations

from typing import Any

from baas.core.platform import Platform
from baas.settings import Settings


async def create_admin(settings: Settings, email: str, password: str) -> dict[str, Any]:
    """Create a platform admin directly in the platform store."""
    platform = Platform(settings)
    await platform.open(background=False)
    try:
        return await platform.admins.create(email, password)
    finally:
        await platform.close()
