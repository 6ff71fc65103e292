"""Timestamps as fixed-width RFC 3339 UTC strings, which sort like the times they name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    # isoformat, not strftime: "%Y" drops the padding of years before 1000.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_iso() -> str:
    return iso(now())


def later_iso(seconds: float) -> str:
    return iso(now() + timedelta(seconds=seconds))


def parse(value: str) -> datetime:
    """Parse an RFC 3339 timestamp; a naive one is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")


def normalize_datetime(value: Any) -> str | None:
    """The fixed-width UTC text of an RFC 3339 date-time, or None if it is not one."""
    if isinstance(value, datetime):  # YAML loaders produce these; naive means UTC there
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and (found := DATETIME_RE.fullmatch(value)):
        year, month, day, hour, minute, second, fraction, sign, off_h, off_m = found.groups()
        if sign and (int(off_h) > 23 or int(off_m) > 59):
            return None
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                              int(second), int((fraction or "0").ljust(6, "0")[:6]),
                              tzinfo=timezone(-offset if sign == "-" else offset))
        except ValueError:
            return None
    else:
        return None
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return None
    # clock.iso's format; isoformat also pads years before 1000 to four digits.
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
