"""Every server setting, read in one place, typed and validated at start-up.

Sources, later ones winning: defaults, a TOML config file (``BAAS_CONFIG_FILE``),
environment variables ``BAAS_*``, explicit overrides (CLI flags).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or invalid; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAAS_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        Path("./baas-data"),
        description="Folder for the SQLite databases, secrets and local files.",
    )
    host: str = Field("127.0.0.1", description="Interface `baas serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port `baas serve` listens on.")
    public_url: str | None = Field(
        None,
        description="URL clients use to reach the server (links in emails); "
        "defaults to http://HOST:PORT.",
    )
    mongodb_url: str | None = Field(
        None,
        description="When set, the MongoDB engine is used instead of embedded SQLite.",
    )
    mongodb_db_prefix: str = Field(
        "baas_", pattern=r"^[A-Za-z0-9_]{0,15}$",
        description="Prefix of every MongoDB database name baas creates.",
    )
    mongodb_write_concern: str = Field(
        "majority", description="Write concern `w` for the MongoDB engine (majority, or a number)."
    )
    sqlite_readers: int = Field(
        4, ge=1, le=64,
        description="Threads that run SQLite reads concurrently (one more runs the writes).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed by CORS, comma separated; `*` allows any.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body accepted (bytes); 413 beyond."
    )
    admin_token_ttl: int = Field(
        12 * 3600, ge=60, le=30 * 86400, description="Lifetime of an admin token (seconds)."
    )
    argon2_time_cost: int = Field(2, ge=1, le=20, description="argon2id iterations (t).")
    argon2_memory_kib: int = Field(
        19_456, ge=19_456, le=4_194_304, description="argon2id memory (KiB, m); at least 19 MiB."
    )
    argon2_parallelism: int = Field(1, ge=1, le=16, description="argon2id lanes (p).")
    hash_threads: int = Field(
        2, ge=1, le=64, description="Threads that hash passwords, off the event loop."
    )
    ttl_sweep_seconds: float = Field(
        60.0, gt=0, le=86400, description="How often expired records (TTL indexes) are removed."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Master key that encrypts secrets at rest (signing keys, provider "
        "credentials); generated into DATA_DIR/secret.key (0600) on first start when unset.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="Structured JSON logs, or plain text for a terminal."
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("mongodb_url")
    @classmethod
    def _check_mongodb_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _check_secret_key(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw in (None, ""):
            return None
        if not isinstance(raw, str) or len(raw.strip()) < 32:
            raise ValueError(
                "must be at least 32 characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return raw.strip()

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def engine(self) -> str:
        return "mongodb" if self.mongodb_url else "sqlite"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning pydantic's report into one readable SettingsError."""
    file_values: dict[str, Any] = {}
    path = config_file or os.environ.get("BAAS_CONFIG_FILE")
    if path:
        try:
            with open(path, "rb") as fh:
                file_values = tomllib.load(fh)
        except OSError as exc:
            raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    unknown_keys = sorted(set(file_values) - set(Settings.model_fields))
    if unknown_keys:
        raise SettingsError(f"config file {path}: unknown setting {unknown_keys[0]!r}; "
                            "see docs/configuration.md")
    # Environment variables beat the file: drop file keys the environment sets.
    values = {k: v for k, v in file_values.items() if f"BAAS_{k.upper()}" not in os.environ}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"BAAS_{name.upper()}: {err['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


def unknown_env() -> list[str]:
    """BAAS_* environment variables that name no setting (typos, or later releases')."""
    known = {f"BAAS_{name.upper()}" for name in Settings.model_fields} | {"BAAS_CONFIG_FILE"}
    return sorted(
        k for k in os.environ
        if k.startswith("BAAS_") and k not in known
        and not k.startswith(("BAAS_TEST_", "BAAS_CLI_"))
    )
