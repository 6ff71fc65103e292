"""The in-process hook registry: handlers run in order, a failing one is logged and
does not stop the others or the caller."""

from __future__ import annotations

import logging

import pytest

from baas.core.hooks import Hook, Hooks


async def test_handlers_run_in_the_order_attached_with_the_value() -> None:
    hook: Hook[str] = Hook("project_created")
    seen: list[tuple[str, str]] = []

    @hook.attach
    async def first(value: str) -> None:
        seen.append(("first", value))

    async def second(value: str) -> None:
        seen.append(("second", value))

    hook.attach(second)
    assert len(hook) == 2
    await hook.fire("demo")
    assert seen == [("first", "demo"), ("second", "demo")]
    hook.detach(first)
    await hook.fire("other")
    assert seen[2:] == [("second", "other")]


async def test_a_failing_handler_is_logged_and_the_others_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    hook: Hook[str] = Hook("project_deleted")
    seen: list[str] = []

    async def broken(value: str) -> None:
        raise RuntimeError("bucket unreachable")

    async def after(value: str) -> None:
        seen.append(value)

    hook.attach(broken)
    hook.attach(after)
    with caplog.at_level(logging.ERROR, logger="baas.hooks"):
        await hook.fire("demo")  # does not raise
    assert seen == ["demo"]
    failed = [r for r in caplog.records if r.name == "baas.hooks"]
    assert len(failed) == 1 and "project_deleted" in failed[0].getMessage()
    assert failed[0].exc_info is not None and "bucket unreachable" in str(failed[0].exc_info[1])


async def test_every_registry_has_its_own_handlers() -> None:
    one, two = Hooks(), Hooks()
    seen: list[str] = []

    async def note(value: str) -> None:
        seen.append(value)

    one.project_created.attach(note)
    await two.project_created.fire("x")
    await one.project_deleted.fire("y")
    assert seen == []
    await one.project_created.fire("z")
    assert seen == ["z"]
