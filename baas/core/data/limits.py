"""Limits on every client-controlled document: size, depth, array length, names, numbers.

``check_document`` runs before anything else looks at a body (schemas, rules, the
store), so the rest of the server may assume a plain JSON object of bounded size
and depth whose keys are plain field names. The walk is iterative and linear, and
it stops at the first problem.

Field names must match ``^[A-Za-z][A-Za-z0-9_]{0,127}$`` at every depth. That
rules out operator keys (``$where``, ``$gt``), dotted paths (``a.b``), prototype
keys (``__proto__``) and BSON type markers (``_bsontype``), and it means extended
JSON such as ``{"$oid": "..."}`` or ``{"$date": ...}`` can never reach the store
as a value: ``$oid`` is simply an invalid key.

Errors are the core ``BadRequest`` (400) and ``PayloadTooLarge`` (413), with codes
``document_too_large``, ``document_too_deep``, ``array_too_long``,
``invalid_field_name``, ``invalid_number``, ``invalid_document`` and
``system_field``; ``details["field"]`` says where, as in ``a.b[3].c``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from baas.core.errors import ApiError, BadRequest, PayloadTooLarge

FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "version")
MAX_BYTES = 1_048_576
MAX_DEPTH = 32
MAX_ARRAY = 10_000
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

# A location is a linked list (parent, segment) so that no path string is built
# unless there is an error to report; a segment is a key (str) or an index (int).
Where = tuple["Where", str | int] | None

# The C encoder json.dumps uses for strings with ensure_ascii=False: quotes included.
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def is_field_name(name: object) -> bool:
    """A user field name: a letter, then letters, digits or ``_``; 128 at most."""
    return isinstance(name, str) and FIELD_RE.fullmatch(name) is not None


def path_text(where: Where) -> str:
    """``a.b[3].c``; a key that is not a field name is shown quoted, as ``a["$where"]``."""
    segments: list[str | int] = []
    while where is not None:
        where, segment = where
        segments.append(segment)
    text = ""
    for segment in reversed(segments):
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif is_field_name(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment[:64])}]"
    return text


def check_document(document: Any, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                   max_array: int = MAX_ARRAY) -> None:
    """Refuse a document that is not a plain, bounded JSON object; return None if it is.

    The size is the UTF-8 length of the compact JSON encoding
    (``separators=(",", ":")``, ``ensure_ascii=False``). Depth counts containers: the
    top-level object is depth 1, so ``{"a": {"b": [1]}}`` has depth 3.
    """
    if not isinstance(document, dict):
        raise BadRequest("a document must be a JSON object", code="invalid_document")
    size = 0
    # Each entry is (value, depth of the container holding it, where it is).
    stack: list[tuple[Any, int, Where]] = [(document, 0, None)]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            size += _string_bytes(value, where)
        elif value is None or value is True:
            size += 4
        elif value is False:
            size += 5
        elif isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                raise _error(where, "invalid_number",
                             "integers must fit in 64 bits (-2**63 to 2**63-1)")
            size += len(int.__repr__(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _error(where, "invalid_number", "numbers cannot be NaN or Infinity")
            size += len(float.__repr__(value))
        elif isinstance(value, dict):
            depth = _deeper(depth, max_depth, where)
            size += 2 + max(2 * len(value) - 1, 0)  # braces, a colon each, commas between
            for key, item in value.items():
                if not is_field_name(key):
                    raise _bad_key(key, where)
                size += len(key) + 2
                stack.append((item, depth, (where, key)))
        elif isinstance(value, list):
            depth = _deeper(depth, max_depth, where)
            if len(value) > max_array:
                raise _error(where, "array_too_long",
                             f"an array holds {len(value)} items; at most {max_array} are allowed",
                             max_items=max_array)
            size += 1 + max(len(value), 1)  # brackets and commas
            stack.extend((item, depth, (where, index)) for index, item in enumerate(value))
        else:
            raise _error(where, "invalid_document",
                         f"a {type(value).__name__} is not a JSON value")
        if size > max_bytes:
            raise PayloadTooLarge(f"the document is larger than {max_bytes} bytes as JSON",
                                  code="document_too_large", details={"max_bytes": max_bytes})


def _deeper(depth: int, max_depth: int, where: Where) -> int:
    """One level deeper into a container, or ``document_too_deep``."""
    if depth + 1 > max_depth:
        raise _error(where, "document_too_deep",
                     f"the document is nested deeper than {max_depth} levels",
                     max_depth=max_depth)
    return depth + 1


def check_no_system_fields(document: dict[str, Any]) -> None:
    """Refuse a body that sets a system field; the server sets those itself."""
    for name in SYSTEM_FIELDS:
        if name in document:
            raise BadRequest(f"{name!r} is set by the server; remove it from the body",
                             code="system_field", details={"field": name})


def _string_bytes(value: str, where: Where) -> int:
    try:
        return len(_encode_string(value).encode("utf-8"))
    except UnicodeEncodeError:
        # A lone surrogate (JSON "\ud800") has no UTF-8 form, and the store needs one.
        raise _error(where, "invalid_document",
                     "a string holds a lone surrogate, which is not valid Unicode") from None


def _bad_key(key: object, where: Where) -> ApiError:
    if not isinstance(key, str):
        return _error(where, "invalid_field_name",
                      f"field names must be strings, not {type(key).__name__}")
    place = path_text(where)
    return BadRequest(
        f"field name {key[:64]!r}{f' in {place!r}' if place else ''} is not allowed: use "
        "letters, digits and '_', starting with a letter, at most 128 characters",
        code="invalid_field_name", details={"field": path_text((where, key)), "key": key[:128]})


def _error(where: Where, code: str, message: str, **details: Any) -> BadRequest:
    place = path_text(where)
    if place:
        details["field"] = place
        message = f"{place}: {message}"
    return BadRequest(message, code=code, details=details)
