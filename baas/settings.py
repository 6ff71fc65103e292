"""Every server setting, read in one place, typed and validated at start-up.

Sources, later ones winning: defaults, a TOML config file (``BAAS_CONFIG_FILE``),
environment variables ``BAAS_*``, explicit overrides (CLI flags).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
    workers: int = Field(
        1, ge=1, le=64,
        description="Worker processes `baas serve` runs on one port (several share the "
        "data folder).",
    )
    loop: Literal["auto", "asyncio", "uvloop"] = Field(
        "auto", description="Event loop: uvloop when installed (auto), or the one named."
    )
    http: Literal["auto", "h11", "httptools"] = Field(
        "auto", description="HTTP/1.1 parser: httptools when installed (auto), or the one named."
    )
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
    header_timeout: float = Field(
        10.0, gt=0, le=3600,
        description="Longest the request line and headers may take to arrive, from the "
        "connection's start or a later request's first byte (seconds); 408 and close beyond. "
        "It also closes a connection that sends nothing.",
    )
    body_timeout: float = Field(
        30.0, gt=0, le=86400,
        description="Longest a request body may take to arrive once the headers are in "
        "(seconds), plus 1 s per BODY_MIN_RATE bytes received; 408 and close beyond.",
    )
    body_min_rate: int = Field(
        500, ge=0, le=1_000_000_000,
        description="Bytes of body that earn one more second of BODY_TIMEOUT (slow but "
        "steady uploads finish, trickles do not); 0 makes BODY_TIMEOUT a fixed limit.",
    )
    keep_alive_timeout: int = Field(
        5, ge=1, le=3600,
        description="An idle keep-alive connection is closed after this long (seconds).",
    )
    max_header_bytes: int = Field(
        16_384, ge=1024, le=1_048_576,
        description="Largest request line plus headers accepted (bytes); 431 beyond.",
    )
    max_header_count: int = Field(
        100, ge=8, le=10_000, description="Most header fields in a request; 431 beyond."
    )
    max_concurrent_requests: int = Field(
        1000, ge=1, le=1_000_000,
        description="HTTP requests one worker process handles at once; 503 with Retry-After "
        "beyond (WebSocket sessions are not counted).",
    )
    query_timeout_ms: int = Field(
        5000, ge=10, le=600_000,
        description="Longest a document list or count may run (milliseconds); 503 beyond.",
    )
    max_cascade: int = Field(
        1000, ge=0, le=100_000,
        description="Most documents one delete may remove or change through reference "
        "fields' on_delete (cascade, set_null); 409 cascade_too_large beyond, nothing changed.",
    )
    cache_seconds: float = Field(
        5.0, ge=0, le=300,
        description="How long a server process reuses API keys and collection definitions "
        "it has read (seconds). Changes made through this process apply at once; through "
        "another worker or node, within this time. 0 reads them on every request.",
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
    change_retention_seconds: int = Field(
        86400, ge=60, le=30 * 86400,
        description="How long document change records are kept for resuming (seconds); an "
                    "older position is answered as expired.",
    )
    idempotency_lease_seconds: float = Field(
        10.0, ge=0.5, le=30,
        description="How long a request holds its Idempotency-Key before a retry may take "
                    "it over (seconds); a retry never waits longer.",
    )
    access_token_ttl: int = Field(
        900, ge=60, le=3600, description="Lifetime of a user's access token (seconds)."
    )
    session_idle_seconds: int = Field(
        7 * 86400, ge=300, le=365 * 86400,
        description="A session unused (not refreshed) this long ends (seconds).",
    )
    session_absolute_seconds: int = Field(
        30 * 86400, ge=300, le=3650 * 86400,
        description="A session ends this long after sign-in whatever its use (seconds).",
    )
    verify_token_ttl: int = Field(
        86400, ge=300, le=30 * 86400,
        description="Lifetime of an emailed email-verification token (seconds).",
    )
    reset_token_ttl: int = Field(
        1800, ge=300, le=86400, description="Lifetime of an emailed password-reset token (seconds)."
    )
    auth_account_limit: int = Field(
        10, ge=1, le=100_000,
        description="Failed logins (or reset requests, or email changes) per account from one "
        "client address per 15 minutes before that address gets 429 for that account.",
    )
    auth_account_wide_limit: int = Field(
        100, ge=1, le=1_000_000,
        description="Failed logins per account from all addresses before each further one "
        "makes the account wait (1 s, doubling up to 15 minutes); forgotten 15 minutes after "
        "the last failure.",
    )
    auth_ip_limit: int = Field(
        100, ge=1, le=1_000_000,
        description="Sign-ups, failed logins, failed refreshes and reset requests per client "
        "address per 15 minutes before 429.",
    )
    rate_limits: bool = Field(
        True, description="Limit request rates and daily quotas (see docs/api.md, Rate "
        "limits); false turns every limit below off.",
    )
    key_rate: float = Field(
        1000.0, ge=0, le=1_000_000,
        description="Requests per second per project key, all its callers together "
        "(0: no limit); a project or key may override it.",
    )
    key_burst: int = Field(
        5000, ge=1, le=10_000_000, description="Requests a key may send at once above its rate."
    )
    address_rate: float = Field(
        100.0, ge=0, le=1_000_000,
        description="Requests per second per client address per project with a "
        "publishable key, or with refused credentials (0: no limit).",
    )
    address_burst: int = Field(
        1000, ge=1, le=10_000_000,
        description="Requests a client address may send at once above its rate.",
    )
    daily_quota: int = Field(
        10_000_000, ge=0, le=10**12,
        description="Requests per project key per UTC day (0: no quota).",
    )
    usage_flush_seconds: float = Field(
        0.5, ge=0.05, le=60,
        description="How often each process shares its request counts through the store "
        "(seconds); what processes may overshoot a limit grows with it.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses or networks (CIDR, comma separated) whose "
        "X-Forwarded-For is believed; from anywhere else the header is ignored.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for auth emails; unset writes mail to DATA_DIR/outbox."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (upgrade on 587), tls (implicit, 465) or none."
    )
    smtp_username: str | None = Field(None, description="SMTP login user name, if any.")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password, if any.")
    smtp_sender: str = Field(
        "baas <no-reply@localhost>", description="From address of auth emails."
    )
    smtp_timeout: float = Field(10.0, gt=0, le=300, description="SMTP timeout (seconds).")
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

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @model_validator(mode="after")
    def _check_session_lifetimes(self) -> Settings:
        if self.session_idle_seconds > self.session_absolute_seconds:
            raise ValueError("session_idle_seconds must not exceed session_absolute_seconds")
        return self

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
