"""Strict JSON decoding for request bodies: the one place text enters from a body.

Refused as 400 ``invalid_json``: what is not JSON, NaN and Infinity; and, naming where
(``details.path``: dotted, array items by index, ``""`` for the whole body), strings and keys
that are not valid Unicode (a lone surrogate such as ``\\ud800`` written as an escape,
which no store, hash or encoder can carry), and a key that appears twice in one object.
Nesting beyond what a parser keeps is 400 ``document_too_deep``.

It is on the hot path, so the common case is a few C calls and no Python walk (a create
body parses faster than with ``json.loads`` before; ``python -m bench.jsonbody``):

- ``orjson.loads`` refuses invalid JSON, NaN, invalid UTF-8 and lone surrogates by itself,
  but keeps the last of duplicate keys silently.
- Duplicates are found by counting colons: each key in the text is followed by exactly
  one structural colon, so the text has ``keys + colons inside strings`` of them. The
  parsed value, re-encoded by ``orjson.dumps``, has ``surviving keys + colons inside
  surviving strings``. Only a dropped duplicate (or a colon written as ``\\u003a``, which
  is added to the text's count) makes them differ; equal counts prove there was none.

Anything orjson refuses, or a count that differs, goes through ``json.loads`` with every
object kept as its list of pairs and one walk that finds the first problem and its path.
So does a body whose re-encoding has a float of 1e16 or more (``e+`` in orjson's output):
orjson reads an integer beyond 64 bits as a float, Python as the integer that the limits
refuse (``invalid_number``), as before. The careful path also accepts what only Python
reads (``1e400``, UTF-16 bodies), leaving it to the same limits.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from baas.core.errors import BadRequest


def loads(raw: bytes) -> Any:
    """The JSON value of ``raw``, or the 400 that says what is wrong and where."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _careful(raw)
    try:
        encoded = orjson.dumps(value)
    except TypeError:  # deeper than orjson writes (254 levels); Python's limit decides
        return _careful(raw)
    if b"e+" in encoded:
        # A float of 1e16 or more, which is how orjson reads an integer beyond 64 bits:
        # Python reads it as the integer it is, for the limits to refuse.
        return _careful(raw)
    colons = raw.count(b":")
    if b"\\u003" in raw:
        colons += raw.count(b"\\u003a") + raw.count(b"\\u003A")
    if encoded.count(b":") != colons:
        _careful(raw)  # raises for a duplicate; the rare false alarm returns
    return value


class _Pairs(list[tuple[str, Any]]):
    """An object as the parser read it: every key, duplicates included, in order."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _careful(raw: bytes) -> Any:
    try:
        tree = json.loads(raw, parse_constant=_no_constant, object_pairs_hook=_Pairs)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply", code="document_too_deep") from None
    try:
        return _checked(tree, ())
    except RecursionError:
        raise BadRequest("the body is nested too deeply", code="document_too_deep") from None


def _checked(node: Any, path: tuple[str, ...]) -> Any:
    """``node`` with objects as dicts, or the error for its first bad key or string."""
    if type(node) is _Pairs:
        out: dict[str, Any] = {}
        for key, value in node:
            here = (*path, key)
            if not _is_unicode(key):
                raise _not_unicode(here, "key")
            if key in out:
                raise BadRequest(
                    f"the key {_shown(key)!r} appears twice in "
                    f"{_where(path)}; send each key once", code="invalid_json",
                    details={"path": _dotted(here)})
            out[key] = _checked(value, here)
        return out
    if type(node) is list:
        return [_checked(item, (*path, str(index))) for index, item in enumerate(node)]
    if type(node) is str and not _is_unicode(node):
        raise _not_unicode(path, "text")
    return node


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_unicode(path: tuple[str, ...], what: str) -> BadRequest:
    return BadRequest(
        f"the {what} at {_where(path)} is not valid Unicode "
        "(a lone surrogate escape such as \\ud800); write a character beyond U+FFFF as a "
        "surrogate pair (\\ud83d\\ude00) or as UTF-8", code="invalid_json",
        details={"path": _dotted(path)})


def _shown(segment: str) -> str:
    """A path segment as text that can be sent back: lone surrogates as escapes."""
    return segment.encode("utf-8", "backslashreplace").decode("utf-8")


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_shown(segment) for segment in path)


def _where(path: tuple[str, ...]) -> str:
    return _dotted(path) if path else "the top level of the body"
