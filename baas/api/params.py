"""Query and header parameters as routes declare them: a description and the JSON Schema
of what the server accepts, so the OpenAPI document states the same bounds the handlers
enforce (``http.page_params``, ``documents.parse_if_match``, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from baas.api.http import DEFAULT_LIMIT, MAX_LIMIT
from baas.core.data.documents import MAX_OFFSET
from baas.core.data.idempotency import MAX_KEY_LENGTH

MAX_CURSOR = 2048


@dataclass(frozen=True)
class Param:
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    where: Literal["query", "header"] = "query"


LIMIT = Param(f"page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})",
              {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})
CURSOR = Param("next_cursor of the last page", {"type": "string", "maxLength": MAX_CURSOR})
OFFSET = Param(f"skip this many (at most {MAX_OFFSET}); instead of cursor",
               {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET})
PAGE: dict[str, str | Param] = {"limit": LIMIT, "cursor": CURSOR}


def flag(description: str) -> Param:
    """A true/false query parameter (the words, nothing else: 1 or yes are a 400)."""
    return Param(description, {"type": "boolean"})


EXPAND = Param(
    "comma-separated reference fields to return inline under _expand, e.g. "
    "list_id,list_id.owner (at most 3 hops; documents the caller may not read are left out)")


IF_MATCH = Param("the version the document must be at (its ETag); 412 when it is not",
                 {"type": "string", "pattern": r'^\s*(W/)?"?[0-9]{1,18}"?\s*$'}, "header")
IDEMPOTENCY_KEY = Param(
    "replays the first answer to a write with the same key and body (422 with another "
    "body); needs a signed-in user or a secret key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"^[ -~]+$"},
    "header")
