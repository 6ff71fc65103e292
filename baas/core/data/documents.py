"""Documents of user collections: create, read, merge-update, replace, delete, list.

Every write goes through the same steps, in this order: limits on the body
(``doclimits``), system and server-owned fields, the schema (on the whole document
as it would be stored), the rule, the references it links to (``references``), then
one conditional store write (with a delete's ``on_delete`` cascade in the same
commit). Nothing is written until every check has passed, so a refused request
changes nothing.

Reads that the caller's ``get`` rule refuses answer 404, exactly like a missing
document, so ids of other people's documents cannot be probed. Updates and deletes
are conditional on the version read (``If-Match`` or the one just read), so a
concurrent write is never lost: a stale ``If-Match`` is a 412, and without one the
read-check-write is retried.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from baas.core import clock, language
from baas.core.credentials import new_sorted_id
from baas.core.data.collections import CollectionDefs, Definition
from baas.core.data.limits import SYSTEM_FIELDS, check_document, check_no_system_fields
from baas.core.data.references import References
from baas.core.data.rules import Access, Decision, decide, list_filter, variables
from baas.core.data.schema import apply_server_fields
from baas.core.data.writes import Writes
from baas.core.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound, Unavailable
from baas.core.language.compiler import to_filter
from baas.store import (
    BatchFailed,
    BatchOp,
    Collection,
    Database,
    Delete,
    DuplicateKeyError,
    FilterError,
    InvalidCursor,
    InvalidQuery,
    QueryTimeout,
    all_of,
)

MAX_OFFSET = 10_000
MAX_FIELDS = 64
WRITE_ATTEMPTS = 4


def not_found(doc_id: str) -> NotFound:
    return NotFound(f"no document {doc_id[:80]!r} here, or you may not read it",
                    code="document_not_found")


def stale(expected: int, actual: int | None = None) -> ApiError:
    now = f" (it is at version {actual})" if actual is not None else ""
    return ApiError(f"the document is no longer at version {expected}{now}; read it again "
                    "and retry", status=412, code="version_mismatch")


def duplicate(exc: DuplicateKeyError) -> Conflict:
    fields = [f for f in exc.fields if f != "id"] or list(exc.fields)
    return Conflict(f"another document already has this {', '.join(fields)}",
                    code="duplicate_value", details={"fields": fields})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def user_fields(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in SYSTEM_FIELDS}


def view(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document as the API shows it: system fields first (as documents are
    stored, so usually the document itself; a page of them is shown without copies)."""
    if tuple(islice(document, len(SYSTEM_FIELDS))) == SYSTEM_FIELDS:
        return document
    shown = {name: document[name] for name in SYSTEM_FIELDS if name in document}
    shown.update(user_fields(document))
    return shown


def check_body(body: Any) -> dict[str, Any]:
    check_document(body)
    check_no_system_fields(body)
    return dict(body)


def parse_if_match(raw: str | None) -> int | None:
    """``If-Match: 3`` or ``If-Match: "3"`` (the ETag we send); None when absent."""
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise BadRequest("If-Match must be a document version, e.g. If-Match: 3",
                         code="invalid_if_match")
    return int(text)


@dataclass(frozen=True)
class ListQuery:
    filter: str | None = None
    sort: str | None = None
    limit: int = 50
    cursor: str | None = None
    offset: int | None = None
    fields: str | None = None
    count: bool = False


def parse_fields(text: str) -> list[str]:
    fields: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        try:
            path = language.parse_path(name)
        except language.LanguageError:
            raise BadRequest(f"fields: {name[:60]!r} is not a field path",
                             code="invalid_fields") from None
        if path not in fields:
            fields.append(path)
    if len(fields) > MAX_FIELDS:
        raise BadRequest(f"fields: at most {MAX_FIELDS} paths", code="invalid_fields")
    return fields


class Documents:
    """Document operations for every project, with rules and schemas applied."""

    def __init__(self, database: Any, defs: CollectionDefs, query_timeout_ms: int,
                 email_of: Any = None, *, writes: Writes, max_cascade: int = 1000) -> None:
        self._database = database
        self.writes = writes
        self.defs = defs
        self.query_timeout_ms = query_timeout_ms
        self._email_of = email_of
        self.references = References(database, defs, self.open, max_cascade)

    def db(self, project: str) -> Database:
        db: Database = self._database(project)
        return db

    async def open(self, project: str, name: str, access: Access
                   ) -> tuple[Definition, Collection, Access]:
        definition = await self.defs.get(project, name)
        collection = self.db(project).collection(definition.store_name)
        if (access.user_id is not None and access.email is None and self._email_of
                and definition.needs_email):
            email = await self._email_of(project, access.user_id)
            access = Access(access.trusted, access.user_id, access.role, email, access.key_id)
        return definition, collection, access

    # -- single documents ---------------------------------------------------------

    async def get(self, project: str, name: str, access: Access, doc_id: str
                  ) -> dict[str, Any]:
        definition, collection, access = await self.open(project, name, access)
        return view(await self.readable(definition, collection, access, doc_id))

    async def readable(self, definition: Definition, collection: Collection, access: Access,
                       doc_id: str, if_match: int | None = None) -> dict[str, Any]:
        """The stored document, or 404 when missing or hidden by the get rule; 412 when
        ``if_match`` names another version."""
        stored = await collection.get(doc_id) if 0 < len(doc_id) <= 128 else None
        if stored is None or not decide(definition.rules["get"], access, stored).allowed:
            raise not_found(doc_id)
        if if_match is not None and stored["version"] != if_match:
            raise stale(if_match, stored["version"])
        return stored

    def check_delete(self, definition: Definition, access: Access, stored: dict[str, Any]
                     ) -> None:
        decision = decide(definition.rules["delete"], access, stored)
        if not decision.allowed:
            raise Forbidden(f"you may not delete this document: {decision.reason}",
                            code="forbidden")

    def prepare_create(self, definition: Definition, access: Access, body: Any
                       ) -> dict[str, Any]:
        """The document to insert, after every check; raises before anything is written."""
        document = self.new_document(definition, access, body)
        decision = decide(definition.rules["create"], access, None, data=document)
        if not decision.allowed:
            raise Forbidden(f"you may not create documents in {definition.name!r}: "
                            f"{decision.reason}", code="forbidden")
        return document

    def new_document(self, definition: Definition, access: Access, body: Any
                     ) -> dict[str, Any]:
        """``body`` as it would be created (``@data`` of the create rule), unchecked by it."""
        incoming = check_body(body)
        bound = variables(access)
        if definition.schema is not None:
            incoming = apply_server_fields(definition.schema, incoming, None, bound,
                                           trusted=access.trusted)
            incoming = _drop_unique_nulls(definition, definition.schema.validate(incoming))
        now = clock.now_iso()
        document = {"id": new_sorted_id(""), "created_at": now, "updated_at": now,
                    "version": 1, **incoming}
        check_document(user_fields(document))
        return document

    async def create(self, project: str, name: str, access: Access, body: Any, *,
                     complete: Callable[[Any], BatchOp] | None = None) -> dict[str, Any]:
        """``complete`` builds, from the answer, one more operation of the same commit
        (an Idempotency-Key's completion)."""
        definition, _, access = await self.open(project, name, access)
        document = self.prepare_create(definition, access, body)
        await self.references.check(project, definition, access, document)
        await self.defs.ensure_ready(project, definition)
        bind = None if complete is None else (lambda results: complete(view(results[0])))
        try:
            return view(await self.writes.insert(project, definition.store_name, document,
                                                 bind=bind))
        except DuplicateKeyError as exc:
            raise duplicate(exc) from None

    def prepare_update(self, definition: Definition, access: Access, stored: dict[str, Any],
                       body: Any, *, replace: bool) -> tuple[dict[str, Any], list[str]]:
        """The ``set``/``unset`` that turn ``stored`` into the checked new document."""
        after, changes, removed = self.updated_document(definition, access, stored, body,
                                                        replace=replace)
        decision = decide(definition.rules["update"], access, stored, data=after)
        if not decision.allowed:
            raise Forbidden(f"you may not update this document: {decision.reason}",
                            code="forbidden")
        return changes, removed

    def updated_document(self, definition: Definition, access: Access,
                         stored: dict[str, Any], body: Any, *, replace: bool
                         ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """``stored`` after the write (``@data`` of the update rule), with the ``set`` and
        ``unset`` that make it; unchecked by the rule."""
        incoming = check_body(body)
        current = user_fields(stored)
        if definition.schema is not None:
            incoming = apply_server_fields(definition.schema, incoming, current,
                                           variables(access), trusted=access.trusted)
        merged = dict(incoming) if replace else merge_patch(current, incoming)
        if definition.schema is not None:
            merged = _drop_unique_nulls(definition, definition.schema.validate(merged))
        check_document(merged)
        after = {**{k: stored[k] for k in SYSTEM_FIELDS if k in stored}, **merged}
        after["updated_at"] = clock.now_iso()
        after["version"] = int(stored["version"]) + 1
        # Compared as JSON: in Python True == 1, but the stored value must change.
        changes = {k: v for k, v in merged.items()
                   if k not in current or _json(current[k]) != _json(v)}
        changes["updated_at"] = after["updated_at"]
        removed = [k for k in current if k not in merged]
        return after, changes, removed

    async def update(self, project: str, name: str, access: Access, doc_id: str, body: Any,
                     *, replace: bool = False, if_match: int | None = None
                     ) -> dict[str, Any]:
        definition, collection, access = await self.open(project, name, access)
        await self.defs.ensure_ready(project, definition)
        for _ in range(WRITE_ATTEMPTS):
            stored = await self.readable(definition, collection, access, doc_id, if_match)
            changes, removed = self.prepare_update(definition, access, stored, body,
                                                   replace=replace)
            await self.references.check(project, definition, access, changes, stored)
            try:
                updated = await self.writes.update(project, definition.store_name, stored,
                                                   changes, removed, replace=replace)
            except DuplicateKeyError as exc:
                raise duplicate(exc) from None
            if updated is not None:
                return view(updated)
            if if_match is not None:
                raise stale(if_match)
        raise Conflict("the document kept changing while we updated it; try again",
                       code="write_conflict")

    async def delete(self, project: str, name: str, access: Access, doc_id: str,
                     *, if_match: int | None = None) -> None:
        definition, collection, access = await self.open(project, name, access)
        for _ in range(WRITE_ATTEMPTS):
            stored = await self.readable(definition, collection, access, doc_id, if_match)
            self.check_delete(definition, access, stored)
            if await self.delete_with_references(project, definition, access, stored):
                return
            # A cascaded document may be what changed: retry unless this one did.
            current = await collection.get(doc_id)
            if if_match is not None and (current is None or current["version"] != if_match):
                raise stale(if_match)
        raise Conflict("the document kept changing while we deleted it; try again",
                       code="write_conflict")

    async def delete_with_references(self, project: str, definition: Definition,
                                     access: Access, stored: dict[str, Any]) -> bool:
        """Delete ``stored`` with the cascade its referrers' ``on_delete`` asks for, in one
        commit; False when any of those documents changed meanwhile."""
        plan = await self.references.plan_delete(project, definition, access, [stored])
        if not plan.ops:
            return await self.writes.delete(project, definition.store_name, stored)
        root = Delete(definition.store_name, stored["id"], expected_version=stored["version"])
        try:
            await self.writes.commit(project, [root, *plan.ops], before=[stored, *plan.before])
        except BatchFailed as exc:
            if isinstance(exc.cause, DuplicateKeyError):
                raise duplicate(exc.cause) from None
            return False
        return True

    async def explain(self, project: str, name: str, operation: str, access: Access, *,
                      doc_id: str | None = None, document: dict[str, Any] | None = None,
                      data: dict[str, Any] | None = None) -> Decision:
        """Which rule decides ``operation`` for ``access`` on a stored document (by id or
        given inline), with ``@data`` built exactly as a real write builds it."""
        definition, collection, _ = await self.open(project, name, access)
        stored = document
        if stored is not None:
            check_document(stored)
        if doc_id is not None:
            stored = await collection.get(doc_id)
            if stored is None:
                raise NotFound(f"no document {doc_id[:80]!r} in {name!r}",
                               code="document_not_found", details={"field": "id"})
        after = None
        if operation == "create":
            after = self.new_document(definition, access, data or {})
        elif operation == "update" and data is not None:
            current = {"version": 0, **(stored or {})}
            after, _, _ = self.updated_document(definition, access, current, data,
                                                replace=False)
        return decide(definition.rules[operation], access, stored, data=after)

    # -- lists --------------------------------------------------------------------

    async def list(self, project: str, name: str, access: Access, query: ListQuery
                   ) -> dict[str, Any]:
        definition, collection, access = await self.open(project, name, access)
        rule = list_filter(definition, access)  # first: a closed list is a 403 before parsing
        client = None
        if query.filter is not None and query.filter.strip():
            client = _parse(lambda text: to_filter(language.parse(text), variables(access)),
                            query.filter, "invalid_filter")
        sort = _parse(language.parse_sort, query.sort or "", "invalid_sort")
        fields = parse_fields(query.fields) if query.fields else None
        if query.cursor is not None and query.offset:
            raise BadRequest("use cursor or offset, not both", code="invalid_query")
        if query.offset is not None and not 0 <= query.offset <= MAX_OFFSET:
            raise BadRequest(f"offset must be from 0 to {MAX_OFFSET}; page further with the "
                             "cursor", code="invalid_offset")
        # The rule goes outside the client's filter: nothing in the filter can widen it.
        combined = all_of(rule, client)
        try:
            page = await collection.find(
                combined, sort=sort, limit=query.limit, cursor=query.cursor,
                offset=query.offset or 0, fields=fields, max_time_ms=self.query_timeout_ms)
            total = (await collection.count(combined, max_time_ms=self.query_timeout_ms)
                     if query.count else None)
        except InvalidCursor as exc:
            raise BadRequest(str(exc), code="invalid_cursor") from None
        except (FilterError, InvalidQuery) as exc:
            raise BadRequest(str(exc), code="invalid_query") from None
        except QueryTimeout:
            raise Unavailable(
                f"the query ran longer than {self.query_timeout_ms} ms; narrow the filter or "
                "declare an index for it", code="query_timeout",
                headers={"Retry-After": "1"}) from None
        body: dict[str, Any] = {"items": [view(d) for d in page.items],
                                "next_cursor": page.next_cursor}
        if total is not None:
            body["total"] = total
        return body


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _drop_unique_nulls(definition: Definition, document: dict[str, Any]) -> dict[str, Any]:
    """A null under a unique field is left out: null means no value, and MongoDB's
    sparse unique indexes would count explicit nulls as duplicates."""
    assert definition.schema is not None
    for field in definition.schema.unique_fields():
        if field in document and document[field] is None:
            del document[field]
    return document


def _parse(parser: Any, text: str, code: str) -> Any:
    try:
        return parser(text)
    except language.LanguageError as exc:
        raise BadRequest(exc.message, code=code, details={"column": exc.column}) from None
