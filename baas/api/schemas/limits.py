"""Pydantic models of the usage-plan routes (``baas.api.limits``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The ranges of ``baas.core.usage.plans.LIMITS``.
Rate = Annotated[float, Field(ge=0, le=1_000_000)]
Burst = Annotated[int, Field(ge=1, le=10_000_000)]
Quota = Annotated[int, Field(ge=0, le=10**12)]


class Limits(BaseModel):
    """Requests per second (0: none) and burst per key and per client address, requests
    per UTC day per key (0: none)."""

    key_rate: Rate = Field(description="Requests per second of the key, all callers together")
    key_burst: Burst = Field(description="Requests the key may send at once above its rate")
    address_rate: Rate = Field(description="Requests per second per client address")
    address_burst: Burst = Field(description="Requests an address may send at once")
    daily_quota: Quota = Field(description="Requests of the key per UTC day")


class LimitsChange(BaseModel):
    """The limits to set; null returns one to the default (the project's, for a key; the
    server's settings, for a project). Limits not named stay as they are."""

    # minProperties: an empty change is a 400 (name at least one limit).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    key_rate: Rate | None = None
    key_burst: Burst | None = None
    address_rate: Rate | None = None
    address_burst: Burst | None = None
    daily_quota: Quota | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        # Lax numbers take false as 0; the OpenAPI document (rightly) says a number.
        if isinstance(data, dict):
            for name, value in data.items():
                if isinstance(value, bool):
                    raise ValueError(f"{name} is a number, not {str(value).lower()}")
        return data


class LimitOverrides(BaseModel):
    key_rate: float | None = None
    key_burst: int | None = None
    address_rate: float | None = None
    address_burst: int | None = None
    daily_quota: int | None = None


class Usage(BaseModel):
    day: str = Field(description="The UTC day counted, YYYY-MM-DD")
    requests: int = Field(description="Requests of the key that day on every server process, "
                                      "as of their last shared count (within about a second)")


class ProjectLimits(BaseModel):
    project: str
    limits: Limits = Field(description="The limits in force for the project's keys")
    overrides: LimitOverrides = Field(description="What the project sets; the rest are the "
                                                  "server's defaults")


class KeyLimits(BaseModel):
    project: str
    key: str
    limits: Limits = Field(description="The limits in force for this key")
    overrides: LimitOverrides = Field(description="What the key sets; the rest are the "
                                                  "project's")
    usage: Usage
