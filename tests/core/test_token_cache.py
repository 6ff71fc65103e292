"""The verified-token cache (issue 12, item 6): an entry counts only while the key that
signed the token is there, for the SigningKeys that checked it, and for a bounded time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from baas.core import migrations
from baas.core.auth import tokens
from baas.core.auth.tokens import SigningKeys, TokenError, forget_verified
from baas.core.secretbox import SecretBox
from baas.store import Engine

ISSUER = "http://baas.test"
MASTER = b"master-key-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
async def migrated(engine: Engine) -> None:
    await migrations.migrate(engine.database("p_demo"), migrations.PROJECT)
    tokens._verified.clear()  # what earlier tests of this process cached


def make(engine: Engine, **kwargs: Any) -> SigningKeys:
    return SigningKeys(engine.database("p_demo"), SecretBox(MASTER), ISSUER, **kwargs)


async def long_lived(keys: SigningKeys, seconds: int = 3600) -> str:
    """A token with the current key that outlives the key's grace (signed by hand)."""
    doc = await keys.current()
    pem = keys.box.open(doc["private"], "signing-key:" + doc["id"])
    private = serialization.load_pem_private_key(pem, password=None)
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": "p_demo", "sub": "usr_1", "sid": "ses_1",
                       "role": "authenticated", "iat": now, "exp": now + seconds},
                      private, algorithm="ES256", headers={"kid": doc["id"]})  # type: ignore[arg-type]


async def test_a_pruned_key_takes_its_cached_tokens_along(engine: Engine) -> None:
    keys = make(engine, retired_grace=1, cache_seconds=300)
    token = await long_lived(keys)
    assert (await keys.verify(token, "p_demo"))["sub"] == "usr_1"
    assert token in tokens._verified
    await keys.rotate()
    await asyncio.sleep(1.2)
    await keys.rotate()  # prunes the first key: retired longer than the grace
    assert token not in tokens._verified
    with pytest.raises(TokenError):
        await keys.verify(token, "p_demo")


async def test_entries_count_only_for_the_keys_object_that_checked_them(engine: Engine
                                                                        ) -> None:
    first = make(engine, cache_seconds=300)
    token = await long_lived(first)
    await first.verify(token, "p_demo")
    # The project is deleted and re-created under the same id: new keys, new object.
    await first.keys.delete_many(None)
    again = make(engine, cache_seconds=300)
    await again.current()
    with pytest.raises(TokenError):
        await again.verify(token, "p_demo")


async def test_another_process_reuses_an_entry_for_at_most_cache_seconds(engine: Engine
                                                                         ) -> None:
    keys = make(engine, cache_seconds=0.3)
    token = await long_lived(keys)
    await keys.verify(token, "p_demo")
    await keys.keys.delete_many(None)  # deleted by another node: this one is not told
    assert (await keys.verify(token, "p_demo"))["sub"] == "usr_1"
    await asyncio.sleep(0.4)
    with pytest.raises(TokenError):
        await keys.verify(token, "p_demo")


async def test_forget_verified_drops_one_projects_tokens(engine: Engine) -> None:
    keys = make(engine, cache_seconds=300)
    token = await long_lived(keys)
    await keys.verify(token, "p_demo")
    assert forget_verified("p_other") == 0 and token in tokens._verified
    assert forget_verified("p_demo") == 1 and token not in tokens._verified
