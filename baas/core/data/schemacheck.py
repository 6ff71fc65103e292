"""Checking a document against a parsed schema (``schema.Schema.validate``), and a
definition's defaults, bounds and enums as it is parsed: one ``Check`` is one validation,
collecting every problem (up to ``MAX_ERRORS``) and spending a time budget on patterns.
"""

from __future__ import annotations

import copy
import json
import math
import time
from typing import TYPE_CHECKING, Any

from baas.core.clock import normalize_datetime
from baas.core.data.limits import INT_MAX, INT_MIN, SYSTEM_FIELDS, is_field_name

if TYPE_CHECKING:
    from baas.core.data.schema import Field

MAX_REFERENCE = 128
MAX_ERRORS = 100
PATTERN_TIMEOUT = 0.05
PATTERN_BUDGET = 0.25
TYPE_NAMES = {"string": "a string", "number": "a number", "integer": "a whole number",
              "boolean": "true or false", "array": "a list", "object": "an object",
              "reference": "an id (a string)"}


INVALID: Any = object()  # what a value that failed turns into; never stored


class TooMany(Exception):
    """Raised once MAX_ERRORS problems are collected, to stop looking for more."""


class Check:
    """One validation: the problems found so far and the time left for patterns."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.budget = PATTERN_BUDGET

    def fail(self, at: str, code: str, message: str) -> Any:
        if len(self.errors) >= MAX_ERRORS:
            raise TooMany
        self.errors.append({"field": at, "code": code, "message": message})
        return INVALID

    def object(self, fields: dict[str, Field], additional: bool, value: dict[str, Any],
               at: str, *, whole: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = field_path(at, key)
            spec = fields.get(key)
            if spec is None:
                if additional or (not at and key in SYSTEM_FIELDS):
                    out[key] = item
                else:
                    self.fail(where, "unknown_field", f"is not a field of {at!r}" if at
                              else "is not a field of this collection")
            elif (cleaned := self.value(spec, item, where)) is not INVALID:
                out[key] = cleaned
        if whole:
            for name, spec in fields.items():
                if name in value:
                    continue
                if spec.default is not None:
                    out[name] = copy.deepcopy(spec.default)
                elif spec.required:
                    self.fail(field_path(at, name), "required", "is required")
        return out

    def value(self, spec: Field, value: Any, at: str) -> Any:
        if value is None:
            return self.fail(at, "required", "is required") if spec.required else None
        kind = spec.type
        if kind == "string":
            return self.string(spec, value, at)
        if kind in ("number", "integer"):
            return self.number(spec, value, at)
        if kind == "boolean":
            return value if isinstance(value, bool) else self.wrong(spec, at)
        if kind == "datetime":
            normalized = normalize_datetime(value)
            if normalized is None:
                return self.fail(at, "invalid_datetime", "must be an RFC 3339 date-time with "
                                                         "an offset, like 2024-05-01T12:00:00Z")
            return normalized
        if kind == "reference":
            if not isinstance(value, str) or not value:
                return self.wrong(spec, at)
            if len(value) > MAX_REFERENCE:
                return self.fail(at, "too_long", f"at most {MAX_REFERENCE} characters")
            return value
        if kind == "array":
            return self.array(spec, value, at)
        if not isinstance(value, dict):
            return self.wrong(spec, at)
        return self.object(spec.fields or {}, spec.additional_fields, value, at)

    def wrong(self, spec: Field, at: str) -> Any:
        return self.fail(at, "invalid_type", f"must be {TYPE_NAMES[spec.type]}")

    def string(self, spec: Field, value: Any, at: str) -> Any:
        if not isinstance(value, str):
            return self.wrong(spec, at)
        if self.length(spec, len(value), at, "characters") is INVALID:
            return INVALID
        if spec.enum is not None and value not in spec.enum:
            return self.fail(at, "not_in_enum", _one_of(spec.enum))
        if spec.matcher is not None:
            return self.match(spec, value, at)
        return value

    def length(self, spec: Field, length: int, at: str, unit: str) -> Any:
        if spec.min_length is not None and length < spec.min_length:
            return self.fail(at, "too_short", f"at least {spec.min_length} {unit}")
        if spec.max_length is not None and length > spec.max_length:
            return self.fail(at, "too_long", f"at most {spec.max_length} {unit}")
        return None

    def match(self, spec: Field, value: str, at: str) -> Any:
        if self.budget <= 0:
            return self.fail(at, "pattern_timeout", "took too long to check against the pattern")
        started = time.monotonic()
        try:
            found = spec.matcher.search(value, timeout=min(PATTERN_TIMEOUT, self.budget))
        except TimeoutError:
            return self.fail(at, "pattern_timeout", "took too long to check against the pattern")
        finally:
            self.budget -= time.monotonic() - started
        if found is None:
            return self.fail(at, "pattern_mismatch", f"does not match the pattern {spec.pattern}")
        return value

    def number(self, spec: Field, value: Any, at: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or (isinstance(value, float) and not math.isfinite(value)):
            return self.wrong(spec, at)
        if spec.type == "integer":
            if isinstance(value, float):
                if not value.is_integer():
                    return self.wrong(spec, at)
                value = int(value)
            if not INT_MIN <= value <= INT_MAX:
                return self.fail(at, "out_of_range", "must fit in 64 bits")
        if spec.min is not None and value < spec.min:
            return self.fail(at, "too_small", f"must be at least {spec.min}")
        if spec.max is not None and value > spec.max:
            return self.fail(at, "too_large", f"must be at most {spec.max}")
        if spec.enum is not None and value not in spec.enum:
            return self.fail(at, "not_in_enum", _one_of(spec.enum))
        return value

    def array(self, spec: Field, value: Any, at: str) -> Any:
        if not isinstance(value, list):
            return self.wrong(spec, at)
        if self.length(spec, len(value), at, "items") is INVALID:
            return INVALID
        if spec.items is None:
            return list(value)
        out = []
        failed = False
        for index, item in enumerate(value):
            where = f"{at}[{index}]"
            cleaned = self.wrong(spec.items, where) if item is None else \
                self.value(spec.items, item, where)
            failed = failed or cleaned is INVALID
            out.append(cleaned)
        return INVALID if failed else out


def field_path(at: str, key: Any) -> str:
    """Where ``key`` is under ``at``, as problems name it: ``a.b`` or ``a["odd key"]``."""
    if is_field_name(key):
        return f"{at}.{key}" if at else key
    return f"{at}[{json.dumps(str(key)[:64])}]"


def _one_of(values: tuple[Any, ...]) -> str:
    shown = ", ".join(json.dumps(value) for value in values[:10])
    return f"must be one of: {shown}{', ...' if len(values) > 10 else ''}"
