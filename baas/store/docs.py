"""Engine-independent document handling: system fields, updates, projection."""

from __future__ import annotations

import copy
import json
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


def check_json(value: object) -> None:
    """Refuse what JSON cannot carry (NaN, Infinity, non-JSON types), as SQLite does."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document is not storable as JSON: {exc}") from None


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
