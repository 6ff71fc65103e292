"""Secrets at rest: the master key and the sealed-value format."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from baas.core.secretbox import MasterKeyError, SecretBox, SecretBoxError, load_master_key
from baas.settings import SettingsError, load_settings

MASTER = b"m" * 32


def test_seal_and_open_round_trip() -> None:
    box = SecretBox(MASTER)
    sealed = box.seal(b"top secret", "ctx")
    assert sealed.startswith("v1.")
    assert b"top secret" not in sealed.encode()
    assert box.open(sealed, "ctx") == b"top secret"
    # A fresh nonce every time.
    assert box.seal(b"top secret", "ctx") != sealed


def test_wrong_context_key_or_tampering_fails() -> None:
    box = SecretBox(MASTER)
    sealed = box.seal(b"payload", "signing-key:a")
    with pytest.raises(SecretBoxError):
        box.open(sealed, "signing-key:b")
    with pytest.raises(SecretBoxError):
        SecretBox(b"x" * 32).open(sealed, "signing-key:a")
    version, nonce, body = sealed.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SecretBoxError):
        box.open(f"{version}.{nonce}.{flipped}", "signing-key:a")
    for bad in ["", "v1", "v2." + sealed[3:], "v1.!!.??", "v1.AAAA." + body]:
        with pytest.raises(SecretBoxError):
            box.open(bad, "signing-key:a")


def test_repr_hides_the_key() -> None:
    assert "m" * 32 not in repr(SecretBox(MASTER))


def test_master_key_from_setting(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key="k" * 40)
    assert load_master_key(settings) == b"k" * 40
    assert "k" * 40 not in repr(settings)
    assert "k" * 40 not in str(settings.model_dump())
    assert not (tmp_path / "secret.key").exists()


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BAAS_SECRET_KEY: .*at least 32"):
        load_settings(data_dir=tmp_path, secret_key="short")


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = load_master_key(settings)
    path = tmp_path / "data" / "secret.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_master_key(settings) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]
    # Sealed with the file's key, opened after a "restart".
    sealed = SecretBox.from_settings(settings).seal(b"x", "c")
    assert SecretBox.from_settings(settings).open(sealed, "c") == b"x"


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    load_master_key(settings)
    os.chmod(tmp_path / "secret.key", 0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(settings)


def test_key_file_too_short_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short\n")
    os.close(fd)
    with pytest.raises(MasterKeyError, match="fewer than 32"):
        load_master_key(load_settings(data_dir=tmp_path))
