"""Creating and deleting a project are single core operations that fire the platform's
hooks, on both engines; deletion forgets what this process cached about the project."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from baas.core import migrations
from baas.core.errors import Conflict, NotFound, Unauthorized
from baas.core.platform import Platform
from baas.settings import Settings
from tests.core.conftest import opened_platform

PASSWORD = "correct horse battery"


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with opened_platform(settings, argon2_time_cost=1, cache_seconds=60) as made:
        yield made


async def test_create_fires_project_created_once_the_project_is_usable(
        platform: Platform) -> None:
    seen: list[tuple[str, int, int]] = []

    async def on_created(project_id: str) -> None:
        # A handler finds the project migrated and its keys made.
        db = platform.projects.database(project_id)
        seen.append((project_id, await migrations.version(db),
                     len(await platform.keys.list(project_id))))

    platform.hooks.project_created.attach(on_created)
    project, keys = await platform.create_project("demo", "Demo")
    assert project["name"] == "Demo" and {k["kind"] for k in keys} == {"publishable", "secret"}
    assert seen == [("demo", migrations.latest(migrations.PROJECT), 2)]
    with pytest.raises(Conflict):
        await platform.create_project("demo", None)
    assert len(seen) == 1  # not fired for a project that was not created


async def test_delete_fires_project_deleted_after_the_data_is_gone(platform: Platform) -> None:
    _, keys = await platform.create_project("demo", None)
    secret = next(k["secret"] for k in keys if k["kind"] == "secret")
    await platform.keys.authenticate("demo", secret)  # now in the key cache
    await platform.collections.create("demo", {"name": "notes"})
    await platform.collections.get("demo", "notes")  # now in the definition cache
    await platform.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                    ip="127.0.0.1", user_agent=None)
    seen: list[tuple[str, bool]] = []

    async def on_deleted(project_id: str) -> None:
        exists = True
        try:
            await platform.projects.get(project_id)
        except NotFound:
            exists = False
        seen.append((project_id, exists))

    platform.hooks.project_deleted.attach(on_deleted)
    await platform.delete_project("demo")
    assert seen == [("demo", False)]
    # Nothing of it is served from this process's caches.
    with pytest.raises(Unauthorized):
        await platform.keys.authenticate("demo", secret)
    assert "demo" not in platform._signing and "demo" not in platform.accounts._projects
    with pytest.raises(NotFound):
        await platform.collections.get("demo", "notes")
    assert await migrations.version(platform.projects.database("demo")) == 0
    with pytest.raises(NotFound):
        await platform.delete_project("demo")
    assert len(seen) == 1


async def test_a_failing_hook_is_logged_and_the_operation_stands(
        platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(project_id: str) -> None:
        raise RuntimeError("push provider down")

    platform.hooks.project_created.attach(broken)
    platform.hooks.project_deleted.attach(broken)
    with caplog.at_level(logging.ERROR, logger="baas.hooks"):
        await platform.create_project("demo", None)
        assert (await platform.projects.get("demo"))["id"] == "demo"
        await platform.delete_project("demo")
    with pytest.raises(NotFound):
        await platform.projects.get("demo")
    assert len([r for r in caplog.records if r.name == "baas.hooks"]) == 2


async def test_a_project_made_again_starts_empty_and_migrated(platform: Platform) -> None:
    await platform.create_project("demo", None)
    await platform.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                    ip="127.0.0.1", user_agent=None)
    await platform.delete_project("demo")
    await platform.create_project("demo", None)
    db = platform.projects.database("demo")
    assert await migrations.version(db) == migrations.latest(migrations.PROJECT)
    assert await db.collection("users").count() == 0
    await platform.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                    ip="127.0.0.1", user_agent=None)
    with pytest.raises(Conflict):
        await platform.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                        ip="127.0.0.1", user_agent=None)
