"""Two Platforms on one data folder stand in for two worker processes
(``baas serve --workers 2``): what one process caches about a project must not
outlive that project when another process deletes it and creates it again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baas.core.errors import Conflict
from baas.core.platform import Platform
from baas.settings import load_settings

PASSWORD = "correct horse battery"


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[Platform, Platform]]:
    settings = load_settings(data_dir=tmp_path / "data", log_level="warning",
                             argon2_time_cost=1)
    a, b = Platform(settings), Platform(settings)
    await a.open(background=False)
    await b.open(background=False)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_project_made_again_has_its_indexes_whatever_another_worker_cached(
        workers: tuple[Platform, Platform]) -> None:
    a, b = workers

    async def sign_up(platform: Platform, email: str) -> None:
        await platform.accounts.sign_up("demo", email, PASSWORD, None, ip="127.0.0.1",
                                        user_agent=None)

    await a.create_project("demo", None)
    await sign_up(b, "one@example.com")  # B has set up (and cached) the project's auth
    await a.projects.delete("demo")  # what DELETE /v1/admin/projects/demo does, in A
    a.forget_project("demo")
    await a.create_project("demo", None)
    # B's cache says the indexes exist; they do, because creating the project made them.
    await sign_up(b, "one@example.com")
    with pytest.raises(Conflict) as err:
        await sign_up(b, "one@example.com")
    assert err.value.code == "email_taken"
    names = {s.name for s in await b.projects.database("demo").collection("users").indexes()}
    assert "uniq_email_a" in names
