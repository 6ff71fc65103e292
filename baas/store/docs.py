"""Engine-independent document handling: system fields, updates, projection."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from baas.store.base import Document, InvalidDocument, check_path


def prepare_insert(document: Document) -> Document:
    doc_id = document.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise InvalidDocument("a document needs a non-empty string id")
    stored = dict(document)
    stored["version"] = 1
    return stored


INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def check_integers(value: object, text: str | None = None) -> None:
    """Refuse integers outside 64 bits: MongoDB cannot keep them and SQLite reads them
    as floats (or infinities). ``text`` (the JSON) lets the common case skip the walk."""
    if text is not None and not _LONG_DIGITS.search(text):
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not (
                INT_MIN <= item <= INT_MAX):
            raise InvalidDocument("document is not storable: integers must fit in 64 bits")


def check_json(value: object) -> None:
    """Refuse what JSON cannot carry (NaN, Infinity, non-JSON types, integers beyond
    64 bits), as SQLite does."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document is not storable as JSON: {exc}") from None
    check_integers(value, text)


def check_update(set: Document, unset: Sequence[str]) -> None:
    for path in list(set) + list(unset):
        check_path(path)
        if path in ("id", "version"):
            raise InvalidDocument(f"{path} is managed by the store")


def apply_update(current: Document, set: Document, unset: Sequence[str]) -> Document:
    """A copy of ``current`` with dotted ``set``/``unset`` paths applied and version bumped."""
    updated = copy.deepcopy(current)
    for path, value in set.items():
        target = updated
        *parents, leaf = path.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[leaf] = value
    for path in unset:
        target = updated
        *parents, leaf = path.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                break
            target = child
        else:
            target.pop(leaf, None)
    updated["version"] = int(current.get("version", 0)) + 1
    return updated


def project(document: Document, fields: Sequence[str]) -> Document:
    """Only ``fields`` (dotted paths) of a document, plus its id."""
    result: dict[str, Any] = {"id": document.get("id")}
    for path in fields:
        source: Any = document
        parts = path.split(".")
        for part in parts:
            if not isinstance(source, dict) or part not in source:
                break
            source = source[part]
        else:
            target = result
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = source
    return result
